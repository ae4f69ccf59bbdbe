#!/usr/bin/env bash
# End-to-end with the context store: the real daemon behind a real nginx, reading a
# real redis-server on a unix socket, all on loopback; records written with pdp admin.
# usage: test_redis.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_redis.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/requests.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-redis-XXXXXX")
sock=$work/pdp.sock
rsock=$work/redis.sock
pdp_pid=""

cleanup() {
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$work"
	if [ -f "$work/redis.pid" ]; then
		kill -CONT "$(cat "$work/redis.pid")" 2>/dev/null
		pdp_redis_down "$work"
	fi
	rm -rf "$work"
}
trap cleanup EXIT


admin() { "$bin/pdp" admin -c "$work/pdp.yaml" "$@" >>"$work/admin.log" 2>&1; }

# The store answers within 100 ms or not at all; records serve 4 s into an outage.
timeout_ms=100
stale_s=4
pdp_redis_up "$work" || { echo "redis-server did not start"; exit 1; }
pdp_make_keys "$bin" "$work"
pdp_write_config "$work" "$sock" "store:
  type: redis
  address: unix:$rsock
  timeout: ${timeout_ms}ms
  stale_max: ${stale_s}s
  ttl: 5m
  negative_ttl: 5m
  on_store_error: deny"
# The store holds the full state (here: nothing yet): mark it so.
admin init || { echo "pdp admin init failed"; cat "$work/admin.log"; exit 1; }
"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
pdp_pid=$!
pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
read -r port app_port < <(pdp_nginx_up "$work" "$sock") || { echo "nginx did not start"; exit 1; }
[ -n "$port" ] || { echo "nginx did not start"; exit 1; }
url=http://127.0.0.1:$port

# lookups: the record and revocation reads (HGETALL, EXISTS) Redis has served; the
# heartbeat's PING, GET and INFO are not lookups.
lookups() {
	redis-cli -s "$rsock" info commandstats | tr -d '\r' |
		awk -F'[:=,]' '/^cmdstat_(hgetall|exists):/ { n += $3 } END { print n + 0 }'
}

expect_match "health: ok once events flow" '"status":"ok".*"store":"redis".* 200$' "$(until_health 200)"

# --- device compliance --------------------------------------------------------
admin device set dev-1 compliant=1 trust=joined platform=windows
alice=$(token alice@example.com dev-1 j-alice-1)
expect "compliant device: admin portal allowed" 200 "$(status "$alice" admin.example.com)"
admin device set dev-1 compliant=0 trust=joined platform=windows
expect "device marked non-compliant: the next requests are denied" 403 \
	"$(until_status 403 "$alice" admin.example.com)"
expect_match "the deny names the compliant-device policy" 'X-PDP-Reason: admins-strong-auth' \
	"$(headers "$alice" admin.example.com)"
admin device set dev-1 compliant=1
expect "compliant again: allowed again" 200 "$(until_status 200 "$alice" admin.example.com)"
admin device clear dev-1
expect "device record cleared: unknown device, denied" 403 \
	"$(until_status 403 "$alice" admin.example.com)"
admin device set dev-1 compliant=1 trust=joined

# --- user risk, disabled users -----------------------------------------------
expect "no user record: intranet allowed" 200 "$(status "$alice" intranet.example.com)"
admin user risk alice@example.com high
expect "user risk raised to high: denied (password change required)" 403 \
	"$(until_status 403 "$alice" intranet.example.com)"
expect_match "the deny names the risk policy" 'X-PDP-Reason: high-risk-password-change' \
	"$(headers "$alice" intranet.example.com)"
admin user risk alice@example.com none
expect "risk remediated: allowed again" 200 "$(until_status 200 "$alice" intranet.example.com)"
admin user disable alice@example.com
expect "user disabled: denied" 403 "$(until_status 403 "$alice" intranet.example.com)"
expect_match "the deny says the account is disabled" 'X-PDP-Reason: account: user account is disabled' \
	"$(headers "$alice" intranet.example.com)"
admin user enable alice@example.com
expect "user enabled: allowed again" 200 "$(until_status 200 "$alice" intranet.example.com)"

# --- revocation ---------------------------------------------------------------
bob1=$(token bob@example.com dev-1 j-bob-1)
bob2=$(token bob@example.com dev-1 j-bob-2)
expect "bob's token allowed" 200 "$(status "$bob1" intranet.example.com)"
admin jti revoke j-bob-1 --ttl 1h
expect "jti revoked: that token gets 401" 401 "$(until_status 401 "$bob1" intranet.example.com)"
expect_match "401 says invalid_token: token revoked" \
	'error="invalid_token", error_description="token revoked"' "$(headers "$bob1" intranet.example.com)"
expect "the same user's other token still allowed" 200 "$(status "$bob2" intranet.example.com)"
admin user revoke bob@example.com
expect "sessions revoked: tokens issued before get 401" 401 \
	"$(until_status 401 "$bob2" intranet.example.com)"
expect_match "401 says session revoked" 'error_description="session revoked"' \
	"$(headers "$bob2" intranet.example.com)"
sleep 1.1
bob3=$(token bob@example.com dev-1 j-bob-3)
expect "a token issued after the revocation is allowed" 200 "$(status "$bob3" intranet.example.com)"

# --- warm decisions make no Redis calls --------------------------------------
for t in "$alice" "$bob3"; do status "$t" admin.example.com >/dev/null; done
before=$(lookups)
n=0
for _ in $(seq 1 100); do
	for t in "$alice" "$bob3"; do
		[ "$(status "$t" admin.example.com)" = 200 ] && n=$((n + 1))
	done
done
after=$(lookups)
expect "warm run: 200 requests allowed" 200 "$n"
expect "warm run: no lookup reached Redis" 0 $((after - before))

# --- first-seen tokens: the revoked jtis are mirrored, not asked per token ------
fresh=()
for i in 1 2 3 4 5; do fresh+=("$(token alice@example.com dev-1 "j-fresh-$i")"); done
before=$(lookups)
n=0
for t in "${fresh[@]}"; do [ "$(status "$t" admin.example.com)" = 200 ] && n=$((n + 1)); done
after=$(lookups)
expect "five first-seen tokens of a warm user allowed" 5 "$n"
expect "first-seen tokens: no lookup (their jtis are known not revoked)" 0 $((after - before))
# A revocation written without its event is found when the mirror is loaded again
# (here on a flush event; also on every resubscribe).
pre=$(token alice@example.com dev-1 j-written-quietly)
redis-cli -s "$rsock" set pdp:jti:j-written-quietly 1 EX 600 >/dev/null
redis-cli -s "$rsock" publish pdp:events flush >/dev/null
expect "a jti revoked before the mirror loaded is refused" 401 "$(until_status 401 "$pre" admin.example.com)"
expect "a first-seen token revoked by an event before its first use is refused" 401 \
	"$(admin jti revoke j-fresh-never-seen --ttl 1h; until_status 401 "$(token alice@example.com dev-1 j-fresh-never-seen)" admin.example.com)"

expect "Redis healthy: the PDP logged no warning or error" "" \
	"$(grep -E ' (warn|error) ' "$work/pdp.log" | head -5)"

# --- Redis slow (stopped): bounded waits --------------------------------------
carol=$(token carol@example.com dev-9 j-carol-1)
kill -STOP "$(cat "$work/redis.pid")"
start=$(date +%s%N)
expect "Redis stopped: a cold subject gets on_store_error (deny)" 403 "$(status "$carol" intranet.example.com)"
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$ms" -lt 2000 ]; then ok "Redis stopped: the cold request did not hang (${ms} ms)"; else not_ok "the cold request hung: ${ms} ms"; fi
expect_match "the deny says the store failed" 'X-PDP-Reason: store: context store unavailable' \
	"$(headers "$carol" intranet.example.com)"
expect "Redis stopped: a warm subject keeps its answer" 200 "$(status "$alice" admin.example.com)"
kill -CONT "$(cat "$work/redis.pid")"
metrics=$(curl -s -m 5 "$url/pdp/metrics")
expect_match "metrics: the stopped Redis shows as timeouts" '^pdp_store_timeouts_total [1-9]' "$metrics"
expect_match "metrics: and as store errors" '^pdp_store_errors_total [1-9]' "$metrics"
expect_match "metrics: the refusal is counted" '^pdp_store_refusals_total [1-9]' "$metrics"
expect_match "metrics: warm lookups hit the user cache" '^pdp_cache_hits_total\{cache="user"\} [1-9]' "$metrics"
# A repeated token answers from the records its last request found (the
# changes above reached such tokens through their events).
expect_match "metrics: repeated tokens reuse their records" '^pdp_store_reused_total [1-9]' "$metrics"

# --- Redis killed during a bounded load run -----------------------------------
warm=("$alice" "$bob3")
for t in "${warm[@]}"; do status "$t" admin.example.com >/dev/null; done
dave=$(token dave@example.com dev-8 j-dave-1)
# Cold subjects: users and devices the PDP has never looked up.
for c in 1 2 3 4; do
	for i in 1 3 5 7 9 11 13 15 17 19; do
		for phase in a b; do
			token "cold-$phase$c$i@example.com" "dev-$phase$c$i" "j-$phase$c$i" >"$work/cold-$phase-$c-$i"
		done
	done
done
# load PHASE: 20 requests from each of 4 clients, alternating warm and cold
# subjects; prints "code time_total cold" per request.
load() {
	local pids=()
	for c in 1 2 3 4; do
		(
			for i in $(seq 1 20); do
				if [ $((i % 2)) -eq 0 ]; then t=${warm[$((i % 4 / 2))]}; h=admin.example.com
				else t=$(cat "$work/cold-$1-$c-$i"); h=intranet.example.com; fi
				r=$(curl -s -o /dev/null -m 5 -w "%{http_code} %{time_total} $((i % 2))" \
					-H "Authorization: Bearer $t" -H "Host: $h" "$url/")
				echo "$r $(date +%s%N)"
			done
		) &
		pids+=($!)
	done
	wait "${pids[@]}" # not a bare wait: that would wait for the PDP too
}
load a >"$work/load-before.txt" &
loader=$!
sleep 0.2
pdp_redis_down "$work" KILL
kill_at=$(date +%s%N)
wait "$loader"
load b >"$work/load-during.txt"
during_ms=$((($(date +%s%N) - kill_at) / 1000000))
cat "$work/load-before.txt" "$work/load-during.txt" >"$work/load.txt"
expect "load run: every request answered (no curl timeout or error)" 0 \
	"$(awk '$1 == "000" || $1 >= 500' "$work/load.txt" | wc -l)"
slowest=$(sort -k2 -n "$work/load.txt" | tail -1 | cut -d' ' -f2)
expect "load run: no request took 2 s or more (slowest ${slowest}s)" 1 \
	"$(awk -v s="$slowest" 'BEGIN { print (s < 2.0) }')"
# Warm subjects are judged by every answer (of both runs) that came after the
# kill and before stale_max ran out, counted from the last answered heartbeat
# (sent at most one heartbeat, 1 s, before the kill): a slow machine may stretch
# the runs past it. Cold subjects asked after the kill get on_store_error throughout.
stale_end=$((kill_at + (stale_s - 1) * 1000000000 - 200000000))
warm_during() { awk -v k="$kill_at" -v e="$stale_end" '$3 == 0 && $4 > k && $4 < e' "$work/load.txt"; }
judged=$(warm_during | wc -l)
if [ "$judged" -ge 8 ]; then
	expect "Redis down: warm subjects kept their answers (within stale_max; $judged judged, run ${during_ms} ms)" 0 \
		"$(warm_during | awk '$1 != 200' | wc -l)"
else
	not_ok "Redis down: only $judged warm answers came within stale_max (run ${during_ms} ms): too few to judge"
fi
expect "Redis down: cold subjects got on_store_error (403)" 0 \
	"$(awk '$3 == 1 && $1 != 403' "$work/load-during.txt" | wc -l)"
expect_match "Redis down: health says degraded (503)" '"status":"degraded".* 503$' "$(until_health 503)"
sleep "$stale_s"
expect "past stale_max: a warm subject gets on_store_error" 403 "$(status "$alice" admin.example.com)"
expect_match "the log says the store is failing" 'context store failing' "$(cat "$work/pdp.log")"
kill -0 "$pdp_pid" 2>/dev/null && ok "the PDP is still running" || not_ok "the PDP died"

# --- Redis back: recovery by itself -------------------------------------------
pdp_redis_up "$work" || { echo "redis-server did not restart"; exit 1; }
expect_match "Redis back empty: not ready until initialised" \
	'"status":"degraded".*"store_status":"context store not ready: no generation marker.* 503$' \
	"$(until_health 503 'no generation marker')"
admin init
expect_match "Redis back and initialised: health ok again" '"status":"ok".* 200$' "$(until_health 200)"
admin device set dev-1 compliant=1 trust=joined
expect "Redis back (empty): records written again are read" 200 \
	"$(until_status 200 "$alice" admin.example.com)"
admin device set dev-1 compliant=0
expect "Redis back: events flow again" 403 "$(until_status 403 "$alice" admin.example.com)"
expect "Redis back: a cold subject is answered by the policies again" 200 \
	"$(until_status 200 "$dave" intranet.example.com)"

# --- pdp admin refuses bad input ----------------------------------------------
out=$("$bin/pdp" admin -c "$work/pdp.yaml" device set dev-1 compliant=maybe 2>&1)
expect "admin: a bad value is refused (exit 1)" 1 "$?"
expect_match "admin: and says why" 'compliant must be 0 or 1' "$out"
expect "admin: nothing was written" 0 "$(redis-cli -s "$rsock" hget pdp:device:dev-1 compliant)"
out=$("$bin/pdp" admin -c "$work/pdp.yaml" jti revoke j-x 2>&1)
expect "admin: jti revoke without an expiry is refused" 1 "$?"

stop_pdp_checked

echo "# test_redis: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
