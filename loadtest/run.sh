#!/usr/bin/env bash
# The load-test harness: generates users, devices, tokens and policies, starts
# Redis, the PDP (over FastCGI and over its HTTP front, one process), zero-work
# responders (libfcgi, and on the PDP's own loops over FastCGI and HTTP) and
# nginx on loopback, measures the PDP against baselines taken in the same run
# (interleaved rounds, at saturation and at a lighter load), runs the scenarios (the last with a second
# PDP writing the decision log), and writes report.md, report.json and
# latency.png to the output directory. Everything it starts is stopped at the
# end; every run is bounded.
#
# usage: loadtest/run.sh [--quick] [--out DIR] [--build DIR] [--prebuilt DIR] [--rounds N] [--seconds S]
#                        [--pdp-threads N]
#   --quick: a small data set and 1-second runs (a smoke test of the harness).
#   --build DIR: build a Release tree there (default build-loadtest).
#   --prebuilt DIR: use the binaries already built in DIR as they are.
#   --pdp-threads: the PDP's event loops (default: its own default).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"

build=$root/build-loadtest
out=$root/loadtest/results
rounds=5
secs=5
users=10000
tokens=100000
threads=4
prebuilt=0
pdp_threads_opt=""
while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=1; secs=1; users=1000; tokens=3000 ;;
	--out) out=$2; shift ;;
	--build) build=$2; shift ;;
	--prebuilt) build=$2; prebuilt=1; shift ;;
	--rounds) rounds=$2; shift ;;
	--seconds) secs=$2; shift ;;
	--pdp-threads) pdp_threads_opt="threads: $2"; shift ;;
	*) echo "usage: loadtest/run.sh [--quick] [--out DIR] [--build DIR] [--prebuilt DIR] [--rounds N] [--seconds S] [--pdp-threads N]" >&2; exit 2 ;;
	esac
	shift
done
for tool in wrk jq gnuplot redis-server nginx; do
	command -v "$tool" >/dev/null || { echo "loadtest: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

[ "$prebuilt" = 1 ] || pdp_build "$build" -DCMAKE_BUILD_TYPE=Release -DPDP_TESTS=OFF -DPDP_LOADTEST=ON
bin=$build/loadtest
pdp=$build/pdp/pdp
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-load-XXXXXX")
res=$work/results
mkdir -p "$res"
pdp_pid="" zero_pid="" zero_mix_pid="" zero_epoll_pid="" zero_http_pid="" zero_verify_pid="" pdp_log_pid=""
cleanup() {
	set +e
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	[ -n "$pdp_log_pid" ] && kill "$pdp_log_pid" 2>/dev/null && wait "$pdp_log_pid" 2>/dev/null
	[ -n "$zero_pid" ] && kill "$zero_pid" 2>/dev/null && wait "$zero_pid" 2>/dev/null
	[ -n "$zero_mix_pid" ] && kill "$zero_mix_pid" 2>/dev/null && wait "$zero_mix_pid" 2>/dev/null
	[ -n "$zero_epoll_pid" ] && kill "$zero_epoll_pid" 2>/dev/null && wait "$zero_epoll_pid" 2>/dev/null
	[ -n "$zero_http_pid" ] && kill "$zero_http_pid" 2>/dev/null && wait "$zero_http_pid" 2>/dev/null
	[ -n "$zero_verify_pid" ] && kill "$zero_verify_pid" 2>/dev/null && wait "$zero_verify_pid" 2>/dev/null
	pdp_stop_nginx "$work"
	pdp_redis_down "$work"
	rm -rf "$work"
}
trap cleanup EXIT
say() { echo "loadtest: $*" >&2; }

# --- data ------------------------------------------------------------------------
say "generating $users users and devices, $tokens RS256 tokens, 50 policies"
"$bin/pdp-loadgen" --out "$work/data" --users "$users" --devices "$users" --tokens "$tokens" >&2
# Warm traffic: one token per user, repeating. Cold: the rest, each sent once.
head -n "$users" "$work/data/requests.txt" >"$work/warm.txt"
tail -n +"$((users + 1))" "$work/data/requests.txt" >"$work/cold.txt"
head -n "$users" "$work/data/invalid.txt" >"$work/invalid.txt"

# --- Redis, the PDP, the zero-work responder, nginx --------------------------------
pdp_redis_up "$work"
redis-cli -s "$work/redis.sock" --pipe <"$work/data/redis.resp" >/dev/null
"$pdp" admin --address "unix:$work/redis.sock" init >/dev/null
# One PDP on both fronts: FastCGI and HTTP/1.1 are the same process, loops and caches.
cat >"$work/pdp.yaml" <<YAML
listen: [unix:$work/pdp.sock, http+unix:$work/pdp-http.sock]
${pdp_threads_opt:-}
policies: $work/data/policies
default_decision: allow
realm: pdp-load
token: { cache_entries: 131072 }
issuers:
  - issuer: https://idp.load.example/
    audiences: [https://apps.load.example]
    jwks_file: $work/data/jwks.json
    algorithms: [RS256, ES256]
# Records, and the "no record" answers of the 87% of users without one, stay fresh for the
# whole run (events keep them current). With the defaults (5m, 30s) each user without a
# record costs a fetch every 30 s during warm runs, and on a busy machine the cold scenario
# starts more than 5 minutes after the warm-up: first-seen tokens paid for expired records.
store:
  type: redis
  address: unix:$work/redis.sock
  ttl: 30m
  negative_ttl: 30m
  stale_max: 5m
YAML
start_pdp() {
	"$pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
	pdp_pid=$!
	pdp_wait_socket "$work/pdp.sock" "$pdp_pid" || { cat "$work/pdp.log" >&2; exit 1; }
	pdp_wait_socket "$work/pdp-http.sock" "$pdp_pid" || { cat "$work/pdp.log" >&2; exit 1; }
}
start_pdp
# The PDP runs its default transport and loop count; the zero-work libfcgi responders run
# $threads threads, libfcgi's best on 2 cores (DESIGN §7: 10k/19k/31k/26k req/s at 1/2/4/8).
for _ in $(seq 1 100); do grep -q 'serving with' "$work/pdp.log" && break; sleep 0.05; done
pdp_threads=$(grep -oE 'serving with [0-9]+' "$work/pdp.log" | awk '{ print $3 }' | tail -n 1)
pdp_transport=epoll # the daemon's only transport; the report names it
[ -n "$pdp_threads" ] || { say "the PDP's log does not say how many threads serve"; cat "$work/pdp.log" >&2; exit 1; }
"$bin/pdp-zero" "unix:$work/zero.sock" "$threads" 2>>"$work/zero.log" &
zero_pid=$!
pdp_wait_socket "$work/zero.sock" "$zero_pid"
# The unit of a first-seen token's cost: a responder that verifies one RSA signature a request.
"$bin/pdp-zero" "unix:$work/zero-verify.sock" "$threads" --rsa-verify >"$work/zero-verify.out" 2>>"$work/zero.log" &
zero_verify_pid=$!
pdp_wait_socket "$work/zero-verify.sock" "$zero_verify_pid"
for _ in $(seq 1 100); do grep -q 'events flowing' "$work/pdp.log" && break; sleep 0.05; done

# drive NAME ARGS...: pdp-load; the JSON line goes to results/NAME.json.
drive() { local name=$1; shift; "$bin/pdp-load" --label "$name" "$@" >"$res/$name.json"; }

# --- warm-up: every warm token verified and every record cached once ---------------
say "warm-up"
drive warmup --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --once --threads "$threads"
drive warmup2 --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration 1 --threads "$threads"

# The zero-work responder again, answering nginx as the PDP did the warm requests (the
# warm-up's decision mix): the same identity headers and error pages for nginx to handle.
mix=$(jq -r '.decisions | "\(.allow):\(.deny):\(."step-up"):\(.unauthenticated)"' "$res/warmup.json")
"$bin/pdp-zero" "unix:$work/zero-mix.sock" "$threads" --mix "$mix" 2>>"$work/zero.log" &
zero_mix_pid=$!
pdp_wait_socket "$work/zero-mix.sock" "$zero_mix_pid"
# And on the PDP's own epoll transport with its loop count: the limit of that transport.
"$bin/pdp-zero" --epoll "unix:$work/zero-epoll.sock" "$pdp_threads" --mix "$mix" 2>>"$work/zero.log" &
zero_epoll_pid=$!
pdp_wait_socket "$work/zero-epoll.sock" "$zero_epoll_pid"
# And on the same loops speaking HTTP/1.1 as the PDP's HTTP front does (kept-alive
# connections, answers with Content-Length: 0): the limit of that front.
"$bin/pdp-zero" --epoll "http+unix:$work/zero-http.sock" "$pdp_threads" --mix "$mix" 2>>"$work/zero.log" &
zero_http_pid=$!
pdp_wait_socket "$work/zero-http.sock" "$zero_http_pid"

cp "$root"/deploy/nginx/{pdp_params,pdp_http_params,pdp-auth.conf,pdp-auth-http.conf,pdp-auth-answer.conf,pdp-admin.conf} "$work/"
sed -e "s#unix:/run/pdp/pdp.sock#unix:$work/pdp.sock#" -e "s#unix:/run/pdp/pdp-http.sock#unix:$work/pdp-http.sock#" \
	"$root/deploy/nginx/pdp-http.conf" >"$work/pdp-http.conf"
grep -q "unix:$work/pdp-http.sock" "$work/pdp-http.conf" || { say "deploy/nginx/pdp-http.conf: no upstream pdp_http on unix:/run/pdp/pdp-http.sock"; exit 1; }
sed "s#fastcgi_pass pdp;#fastcgi_pass zero_mix;#" "$root/deploy/nginx/pdp-auth.conf" >"$work/zero-mix-auth.conf"
grep -q "fastcgi_pass zero_mix;" "$work/zero-mix-auth.conf" || { say "deploy/nginx/pdp-auth.conf: no fastcgi_pass pdp"; exit 1; }
sed "s#fastcgi_pass pdp;#fastcgi_pass zero_epoll;#" "$root/deploy/nginx/pdp-auth.conf" >"$work/zero-epoll-auth.conf"
# The HTTP responder wired as the PDP's HTTP front is: pdp-auth-http.conf, and an upstream
# kept alive as deploy/nginx's pdp_http is.
sed "s#proxy_pass http://pdp_http;#proxy_pass http://zero_http;#" "$root/deploy/nginx/pdp-auth-http.conf" >"$work/zero-http-auth.conf"
grep -q "proxy_pass http://zero_http;" "$work/zero-http-auth.conf" || { say "deploy/nginx/pdp-auth-http.conf: no proxy_pass http://pdp_http"; exit 1; }
zero_http_upstream=$(sed -n '/^upstream pdp_http {/,/^}/p' "$work/pdp-http.conf" |
	sed -e 's#^upstream pdp_http {#upstream zero_http {#' -e "s#unix:$work/pdp-http.sock#unix:$work/zero-http.sock#")
grep -q "unix:$work/zero-http.sock" <<<"$zero_http_upstream" || { say "deploy/nginx/pdp-http.conf: no upstream pdp_http block"; exit 1; }
# write_nginx: nginx.conf for eight servers on the ports in ports[].
write_nginx() {
	cat >"$work/nginx.conf" <<NGINX
$(pdp_nginx_head "$work")
    # The load driver stands for a trusted proxy: the caller's address is X-Forwarded-For.
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    upstream zero { server unix:$work/zero.sock; }
    upstream zero_mix { server unix:$work/zero-mix.sock; }
    upstream zero_epoll { server unix:$work/zero-epoll.sock; }
$zero_http_upstream

    server { # no auth
        listen 127.0.0.1:${ports[0]};
        location / { empty_gif; }
    }
    server { # auth_request to an internal return 200
        listen 127.0.0.1:${ports[1]};
        auth_request /_ok;
        location / { empty_gif; }
        location = /_ok { internal; return 200; }
    }
    server { # auth_request to the zero-work libfcgi responder, wired as the PDP is
        listen 127.0.0.1:${ports[2]};
        auth_request /_zero;
        location / { empty_gif; }
        location = /_zero {
            internal;
            include pdp_params;
            fastcgi_pass zero;
        }
    }
    server { # the zero-work responder answering as the PDP, wired as the PDP is
        listen 127.0.0.1:${ports[4]};
        set \$pdp_signin_url http://127.0.0.1:${ports[4]}/signin;
        include zero-mix-auth.conf;
        location / { empty_gif; }
    }
    server { # the same on the PDP's epoll transport
        listen 127.0.0.1:${ports[5]};
        set \$pdp_signin_url http://127.0.0.1:${ports[5]}/signin;
        include zero-epoll-auth.conf;
        location / { empty_gif; }
    }
    server { # the PDP, with deploy/nginx's snippets
        listen 127.0.0.1:${ports[3]};
        set \$pdp_signin_url http://127.0.0.1:${ports[3]}/signin;
        include pdp-auth.conf;
        include pdp-admin.conf;
        location / { empty_gif; }
    }
    server { # the same PDP over its HTTP front, with deploy/nginx's HTTP snippets
        listen 127.0.0.1:${ports[6]};
        set \$pdp_signin_url http://127.0.0.1:${ports[6]}/signin;
        include pdp-auth-http.conf;
        location / { empty_gif; }
    }
    server { # the zero-work responder on the PDP's loops over HTTP, answering as the PDP
        listen 127.0.0.1:${ports[7]};
        set \$pdp_signin_url http://127.0.0.1:${ports[7]}/signin;
        include zero-http-auth.conf;
        location / { empty_gif; }
    }
}
NGINX
}
# A port free when probed may be taken before nginx binds it: try fresh ones.
for attempt in 1 2 3 4 5; do
	ports=()
	while [ ${#ports[@]} -lt 8 ]; do
		p=$(pdp_free_port)
		[[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
	done
	write_nginx
	pdp_start_nginx "$work" 2>>"$work/nginx-start.log" && break
	[ "$attempt" = 5 ] && { cat "$work/nginx-start.log" >&2; exit 1; }
done
url_noauth=http://127.0.0.1:${ports[0]}/
url_internal=http://127.0.0.1:${ports[1]}/
url_zero=http://127.0.0.1:${ports[2]}/
url_pdp=http://127.0.0.1:${ports[3]}/
url_zero_mix=http://127.0.0.1:${ports[4]}/
url_zero_epoll=http://127.0.0.1:${ports[5]}/
url_pdp_http=http://127.0.0.1:${ports[6]}/
url_zero_http=http://127.0.0.1:${ports[7]}/
metrics() { curl -s -m 5 "http://127.0.0.1:${ports[3]}/pdp/metrics"; }
metric() { pdp_metric "$1" "$(metrics)"; }
# through NAME URL [CONNECTIONS PAUSE_MS]: wrk through nginx for secs seconds, with 32
# connections as fast as they go, or CONNECTIONS each pausing PAUSE_MS before each request.
through() {
	# wrk prints its own summary first; the script's JSON line is the one that starts with {.
	wrk -t2 -c"${3:-32}" -d"${secs}s" --timeout 5s -s "$root/loadtest/wrk.lua" "$2" -- "$work/warm.txt" "$1" ${4:+"$4"} \
		>"$res/$1.txt"
	grep '^{' "$res/$1.txt" >"$res/$1.json"
}

# cpu PID: CPU time the process has used, in microseconds (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000000 / hz) }' "/proc/$1/stat"; }
# Marks: "SECONDS COUNT" of something timed, now. us_since MARK_FN MARK: its mean in
# microseconds since MARK_FN printed MARK (null if nothing was timed since).
us_since() {
	local s0 n0 s1 n1
	read -r s0 n0 <<<"$2"
	read -r s1 n1 <<<"$("$1")"
	jq -n "if $n1 > $n0 then ($s1 - $s0) * 1e6 / ($n1 - $n0) else null end"
}
# decision_mark: the PDP's decisions (pdp_decide, without the transport; one scrape).
decision_mark() {
	local m
	m=$(metrics)
	echo "$(pdp_metric pdp_decision_duration_seconds_sum "$m") $(pdp_metric pdp_decision_duration_seconds_count "$m")"
}
# verify_mark: the PDP's RS256 signature checks.
verify_mark() {
	local m
	m=$(metrics)
	echo "$(pdp_metric 'pdp_signature_verify_seconds_sum{alg="RS256"}' "$m") $(pdp_metric 'pdp_signature_verify_seconds_count{alg="RS256"}' "$m")"
}
# zero_verify_mark: the verifying responder's own verifies (it prints its totals, in
# nanoseconds, on SIGUSR1).
zero_verify_mark() {
	local n
	n=$(wc -l <"$work/zero-verify.out")
	kill -USR1 "$zero_verify_pid"
	for _ in $(seq 1 200); do
		[ "$(wc -l <"$work/zero-verify.out")" -gt "$n" ] && break
		sleep 0.01
	done
	[ "$(wc -l <"$work/zero-verify.out")" -gt "$n" ] || { say "the verifying responder did not print its verify totals"; exit 1; }
	tail -n 1 "$work/zero-verify.out" | awk '{ printf "%.9f %s\n", $3 / 1e9, $2 }'
}
zero_cpu=0 pdp_cpu=0 pdp_http_cpu=0
mark=$(decision_mark)
# The PDP's connections accepted over HTTP: nginx keeps them, so far fewer than requests.
http_accepted0=$(metric 'pdp_connections_accepted_total{front="http"}')

# --- baselines and the PDP, interleaved ---------------------------------------------
for r in $(seq 1 "$rounds"); do
	say "round $r/$rounds: nginx no-auth, internal auth, zero-work responder (bare, as the PDP), PDP (FastCGI, HTTP), zero-work over HTTP, zero-work as the PDP again; direct"
	through "nginx-noauth-$r" "$url_noauth"
	through "nginx-internal-$r" "$url_internal"
	through "nginx-zero-$r" "$url_zero"
	through "nginx-zeromix-$r" "$url_zero_mix"
	through "nginx-zeroepoll-$r" "$url_zero_epoll"
	through "nginx-pdp-$r" "$url_pdp"
	# The same PDP over its HTTP front, and the zero-work responder on the same loops over HTTP.
	through "nginx-pdphttp-$r" "$url_pdp_http"
	through "nginx-zerohttp-$r" "$url_zero_http"
	# The same server a second time: how far apart two runs of one server are here.
	through "nginx-zeromix2-$r" "$url_zero_mix"
	c0=$(cpu "$zero_pid")
	drive "direct-zero-$r" --address "unix:$work/zero.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads" \
		--cdf "$res/direct-zero-$r.cdf"
	zero_cpu=$((zero_cpu + $(cpu "$zero_pid") - c0))
	c0=$(cpu "$pdp_pid")
	drive "direct-pdp-$r" --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads" \
		--cdf "$res/direct-pdp-$r.cdf"
	pdp_cpu=$((pdp_cpu + $(cpu "$pdp_pid") - c0))
	# The PDP over HTTP directly: each client thread on one kept-alive connection.
	c0=$(cpu "$pdp_pid")
	drive "direct-pdphttp-$r" --address "http+unix:$work/pdp-http.sock" --requests "$work/warm.txt" --duration "$secs" \
		--threads "$threads" --cdf "$res/direct-pdphttp-$r.cdf"
	pdp_http_cpu=$((pdp_http_cpu + $(cpu "$pdp_pid") - c0))
done
# Where the time goes: CPU per request of each responder in the direct runs, and the
# PDP's own time per decision (pdp_decide, without the transport) over all its runs.
decision_us=$(us_since decision_mark "$mark")

# --- latency at a lighter load ------------------------------------------------------------
# At saturation every server has 32 requests queued in front of it, and the tail is the
# queue's and the scheduler's (nginx alone shows milliseconds). Here each connection pauses
# 1 ms before each request, with connections enough for at most half the zero-work
# responder's saturated rate: the latency each server adds, in interleaved rounds.
paced_conns=$(jq -s 'map(.rps) | sort | .[length / 2 | floor] / 2 / 1000 / 2 | round * 2 | if . < 2 then 2 else . end' \
	"$res"/nginx-zeromix-*.json)
for r in $(seq 1 "$rounds"); do
	say "round $r/$rounds at a lighter load ($paced_conns connections, 1 ms pauses): zero-work responder (as the PDP, libfcgi and epoll), PDP (FastCGI, HTTP), zero-work over HTTP"
	through "paced-zeromix-$r" "$url_zero_mix" "$paced_conns" 1
	through "paced-zeroepoll-$r" "$url_zero_epoll" "$paced_conns" 1
	through "paced-pdp-$r" "$url_pdp" "$paced_conns" 1
	through "paced-pdphttp-$r" "$url_pdp_http" "$paced_conns" 1
	through "paced-zerohttp-$r" "$url_zero_http" "$paced_conns" 1
done
http_accepted=$(( $(metric 'pdp_connections_accepted_total{front="http"}') - http_accepted0 ))

# --- cold tokens: one client, first-seen tokens against warm ones -------------------
# In interleaved rounds, as many warm requests as first-seen ones in each, so that the
# report's medians of per-round differences see the machine in the same state for both;
# and as many to the zero-work responder with and without an RSA verify per request,
# which is what one RSA verify costs the client here. The verifying responder and the PDP
# also time their own verifies: one verify's cost inside a server driven this way; and
# `openssl speed` gives one verify in a loop, each round.
say "cold tokens"
cold_n=$(wc -l <"$work/cold.txt")
chunk=$(( cold_n / 2 / rounds ))
tail -n +"$((chunk * rounds + 1))" "$work/cold.txt" >"$work/cold-rest.txt"
fetches0=$(metric pdp_store_fetches_total)
cold_decisions=""
for r in $(seq 1 "$rounds"); do
	sed -n "$(( (r - 1) * chunk + 1 )),$(( r * chunk ))p" "$work/cold.txt" >"$work/cold-single-$r.txt"
	# Each measured twice: as the client sees it (latency) and as the PDP spends it (decision time).
	mark=$(decision_mark)
	drive "cold-warm-$r" --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --count "$chunk" --threads 1
	warm_us=$(us_since decision_mark "$mark")
	mark=$(decision_mark)
	vmark=$(verify_mark)
	drive "cold-single-$r" --address "unix:$work/pdp.sock" --requests "$work/cold-single-$r.txt" --once --threads 1
	cold_us=$(us_since decision_mark "$mark")
	pdp_verify_us=$(us_since verify_mark "$vmark")
	drive "cold-zero-$r" --address "unix:$work/zero.sock" --requests "$work/warm.txt" --count "$chunk" --threads 1
	vmark=$(zero_verify_mark)
	drive "cold-zeroverify-$r" --address "unix:$work/zero-verify.sock" --requests "$work/warm.txt" --count "$chunk" --threads 1
	zero_verify_us=$(us_since zero_verify_mark "$vmark")
	# And one verify at its best: OpenSSL's own loop, in the same round.
	speed_per_s=$(openssl speed -seconds 1 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $NF }')
	cold_decisions+="${cold_decisions:+,}{\"warm\": $warm_us, \"cold\": $cold_us, \"verify\": $pdp_verify_us, \"zero_verify\": $zero_verify_us, \"speed_per_s\": ${speed_per_s:-0}}"
done
cold_fetches=$(( $(metric pdp_store_fetches_total) - fetches0 ))
drive cold-parallel --address "unix:$work/pdp.sock" --requests "$work/cold-rest.txt" --once --threads "$threads"
# Memory: every token of the run is now live in the token cache.
rss_kib=$(awk '/^VmRSS/ { print $2 }' "/proc/$pdp_pid/status")
live_tokens=$(metric 'pdp_cache_entries{cache="token"}')

# --- invalid-signature flood at the rate of the valid traffic -----------------------
say "invalid-signature flood"
cap=$(jq -s 'map(.rps) | sort | .[length / 2 | floor]' "$res"/direct-pdp-*.json)
rate=$(jq -n "$cap * 0.4 | floor")
drive flood-alone --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads 2 --rate "$rate"
"$bin/pdp-load" --label flood-invalid --address "unix:$work/pdp.sock" --requests "$work/invalid.txt" \
	--duration "$secs" --threads 2 --rate "$rate" >"$res/flood-invalid.json" &
flood=$!
drive flood-valid --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads 2 --rate "$rate"
wait "$flood"

# --- policy reload every 100 ms under load -------------------------------------------
say "policy reload every 100 ms"
reloads0=$(metric 'pdp_policy_reloads_total{result="ok"}')
drive reload-base --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
( for _ in $(seq 1 $((secs * 10))); do kill -HUP "$pdp_pid"; sleep 0.1; done ) &
hup=$!
drive reload --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
wait "$hup"
reloads=$(( $(metric 'pdp_policy_reloads_total{result="ok"}') - reloads0 ))

# --- revocation storm: sessions of 10% of the warm users revoked while they ask ------
say "revocation storm"
revoked0=$(metric 'pdp_revoked_total')
drive storm-base --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
storm_users=$((users / 10))
(
	sleep 0.2
	now=$(($(date +%s) + 1))
	for u in $(seq 0 10 $((users - 1))); do
		printf 'HSET pdp:user:user-%d@load.example revoked_before %d\nPUBLISH pdp:events "user user-%d@load.example"\n' "$u" "$now" "$u"
	done | redis-cli -s "$work/redis.sock" >/dev/null
) &
storm=$!
drive storm --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
wait "$storm"
storm_revoked=$(( $(metric 'pdp_revoked_total') - revoked0 ))
storm_events=$(metric 'pdp_store_events_total')
# Undo: the sessions live again for the scenarios after this one.
for u in $(seq 0 10 $((users - 1))); do
	printf 'HDEL pdp:user:user-%d@load.example revoked_before\nPUBLISH pdp:events "user user-%d@load.example"\n' "$u" "$u"
done | redis-cli -s "$work/redis.sock" >/dev/null

# --- Redis outage mid-run -----------------------------------------------------------------
say "Redis outage mid-run"
(
	sleep "$(jq -n "$secs / 3")"
	pdp_redis_down "$work" KILL
	sleep "$(jq -n "$secs / 3")"
	pdp_redis_up "$work" && redis-cli -s "$work/redis.sock" --pipe <"$work/data/redis.resp" >/dev/null &&
		"$pdp" admin --address "unix:$work/redis.sock" init >/dev/null
) &
outage=$!
drive outage --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
wait "$outage"
store_errors=$(metric 'pdp_store_errors_total')
for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[3]}/pdp/health")" = 200 ] && break; sleep 0.05; done
health_after=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[3]}/pdp/health")

# --- policy scale: 10 to 10,000 policies, interleaved with 50 -------------------------------
say "policy scale"
set_policies() {
	local before
	before=$(metric 'pdp_policy_reloads_total{result="ok"}')
	"$bin/pdp-loadgen" --policies-only "$work/data/policies/set.yaml" --policies "$1"
	kill -HUP "$pdp_pid"
	for _ in $(seq 1 200); do
		[ "$(metric 'pdp_policy_reloads_total{result="ok"}')" -gt "$before" ] && [ "$(metric pdp_policies)" = "$1" ] && return 0
		sleep 0.05
	done
	say "the set of $1 policies did not load"; return 1
}
for r in $(seq 1 "$rounds"); do
	for n in 50 10 100 1000 10000; do
		set_policies "$n"
		drive "policies-$n-$r" --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
	done
done
set_policies 50

# --- the decision log: a second PDP, as the first but writing a line a decision -------
# deploy/pdp.yaml logs every decision; the runs above do not. Last, so that its writes do
# not disturb the other scenarios; the warm requests find their 10,000 tokens cached in
# either PDP. The file is on the work directory's disk.
say "decision log"
sed "s#^listen: .*#listen: unix:$work/pdp-log.sock#" "$work/pdp.yaml" >"$work/pdp-log.yaml"
echo "decision_log: $work/decisions.jsonl" >>"$work/pdp-log.yaml"
"$pdp" serve -c "$work/pdp-log.yaml" 2>>"$work/pdp-log.log" &
pdp_log_pid=$!
pdp_wait_socket "$work/pdp-log.sock" "$pdp_log_pid" || { cat "$work/pdp-log.log" >&2; exit 1; }
for _ in $(seq 1 100); do grep -q 'events flowing' "$work/pdp-log.log" && break; sleep 0.05; done
drive dlog-warmup --address "unix:$work/pdp-log.sock" --requests "$work/warm.txt" --once --threads "$threads"
c0=$(cpu "$pdp_pid")
drive dlog-base --address "unix:$work/pdp.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
dlog_base_cpu=$(( $(cpu "$pdp_pid") - c0 ))
c0=$(cpu "$pdp_log_pid")
drive dlog --address "unix:$work/pdp-log.sock" --requests "$work/warm.txt" --duration "$secs" --threads "$threads"
dlog_cpu=$(( $(cpu "$pdp_log_pid") - c0 ))
# Stopping writes out what is queued.
kill "$pdp_log_pid"
wait "$pdp_log_pid" || { say "the PDP with the decision log did not stop cleanly"; cat "$work/pdp-log.log" >&2; exit 1; }
pdp_log_pid=""
dlog_lines=$(wc -l <"$work/decisions.jsonl")
rm -f "$work/decisions.jsonl"

# --- report ----------------------------------------------------------------------------------
say "report"
# Resets and early closes nginx saw from the responders (FastCGI connections it read from).
upstream_resets=$(grep -cE 'reset by peer|prematurely closed' "$work/nginx-error.log" || true)
jq -s 'map({(.label): .}) | add' "$res"/*.json >"$work/runs.json"
jq -n \
	--slurpfile runs "$work/runs.json" \
	--argjson rounds "$rounds" --argjson seconds "$secs" --argjson users "$users" --argjson tokens "$tokens" \
	--argjson threads "$threads" --argjson paced_conns "$paced_conns" --argjson pdp_threads "${pdp_threads:-0}" --arg transport "$pdp_transport" \
	--argjson rss_kib "$rss_kib" --argjson live_tokens "${live_tokens:-0}" \
	--argjson zero_cpu_us "$zero_cpu" --argjson pdp_cpu_us "$pdp_cpu" --argjson pdp_http_cpu_us "$pdp_http_cpu" \
	--argjson decision_us "$decision_us" --argjson http_accepted "$http_accepted" \
	--argjson cold_decisions "[$cold_decisions]" \
	--argjson cold_fetches "$cold_fetches" --argjson reloads "$reloads" --argjson storm_users "$storm_users" --argjson storm_revoked "$storm_revoked" \
	--argjson dlog_base_cpu_us "$dlog_base_cpu" --argjson dlog_cpu_us "$dlog_cpu" --argjson dlog_lines "$dlog_lines" \
	--argjson store_errors "${store_errors:-0}" --argjson health_after "$health_after" \
	--argjson upstream_resets "$upstream_resets" --arg zero_mix "$mix" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(uname -srm), $(nproc) cores" \
	--arg pdp_version "$("$pdp" version 2>/dev/null || echo unknown)" \
	-f "$root/loadtest/report.jq" >"$out/report.json"
"$root/loadtest/report.sh" "$out/report.json" "$res" "$out"
say "report: $out/report.md, $out/report.json, $out/latency.png"
