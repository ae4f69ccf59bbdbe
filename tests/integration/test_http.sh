#!/usr/bin/env bash
# The PDP's HTTP/1.1 front through the real nginx with deploy/nginx's HTTP snippets
# (pdp-auth-http.conf, pdp_http_params, upstream pdp_http), the same PDP serving its
# FastCGI socket at once: the answers of the FastCGI suite, kept-alive connections,
# reloads under load, client-sent contract headers that never reach the PDP, and the
# front alone refusing what nginx never sends.
# usage: test_http.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_http.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/fixture.sh"

fixture_start http
hsock=$work/pdp-http.sock
loader_pids=()
stop_loaders() {
	local p
	for p in "${loader_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	loader_pids=()
}
trap 'stop_loaders; fixture_cleanup' EXIT

pdp_make_keys "$bin" "$work"
printf 'devices:\n  - { id: dev-9, compliant: true, trust: joined }\n' >"$work/context.yaml"
pdp_write_config "$work" "$sock" "store: { type: file, path: context.yaml }
reload: { settle: 10ms }"
# Both fronts at once: FastCGI on $sock, HTTP on $hsock.
sed -i "s#^listen: .*#listen:\n  - unix:$sock\n  - http+unix:$hsock#" "$work/pdp.yaml"
"$bin/pdp" check -c "$work/pdp.yaml" >/dev/null || { echo "pdp check failed:"; "$bin/pdp" check -c "$work/pdp.yaml"; exit 1; }
fixture_serve
pdp_wait_socket "$hsock" "$pdp_pid" || { echo "no HTTP socket:"; cat "$work/pdp.log"; exit 1; }
read -r port app_port < <(pdp_nginx_up "$work" "$sock" "" "$hsock")
[ -n "${port:-}" ] || { echo "nginx did not start"; exit 1; }
url=http://127.0.0.1:$port
expect "nginx asks the PDP through pdp-auth-http.conf" 1 "$(grep -c 'include pdp-auth-http.conf;' "$work/nginx.conf")"

iss=https://idp.example.com/
aud=https://apps.example.com
claims() { echo "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"alice@example.com\",\"groups\":[\"admins\",\"eng\"],\"amr\":[\"pwd\",\"mfa\"]$1}"; }
mint() { pdp_mint "$bin" "$work" RS256 "$1"; }
good=$(mint "$(claims '')")
key_admin=$(mint "$(claims ',"amr":["hwk"],"deviceid":"dev-9","auth_time":-60')")
pwd_only=$(mint "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"bob@example.com\",\"amr\":[\"pwd\"]}")
stale=$(mint "$(claims ',"auth_time":-7200')")
# status_at URL TOKEN [curl args]: the HTTP status nginx answers for a bearer token.
status_at() {
	local at=$1 tok=$2; shift 2
	curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $tok" "$@" "$at"
}
# headers_at URL TOKEN [curl args]: the answer's status line and headers, CR removed.
headers_at() {
	local at=$1 tok=$2; shift 2
	curl -s -m 5 -D - -o /dev/null -H "Authorization: Bearer $tok" "$@" "$at" | tr -d '\r'
}
metrics() { curl -s -m 5 "$url/pdp/metrics"; }
# accepted FRONT METRICS: connections the PDP accepted on FRONT (fastcgi, http); absent is 0
# (and fails the check below that it is present).
accepted() { local v; v=$(pdp_metric "pdp_connections_accepted_total{front=\"$1\"}" "$2"); echo "${v:-0}"; }
decisions() { awk '/^pdp_decisions_total/ { n += $2 } END { print n + 0 }' <<<"$1"; }

# --- the answers of the FastCGI suite, over HTTP ----------------------------------
expect "allow: the identity reaches the upstream (not the client's X-PDP-User)" \
	"user=alice@example.com groups=admins,eng" \
	"$(curl -s -m 5 -H "Authorization: Bearer $good" -H "X-PDP-User: mallory" "$url/app")"
expect "allow: the upstream sees the policies that applied" "policies=mfa-outside-trusted" \
	"$(curl -s -m 5 -H "Authorization: Bearer $good" "$url/policies")"
expect "allow: the token from the configured cookie" 200 \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' --cookie "pdp_token=$good" "$url/app")"
hdrs=$(headers_at "$url/users" "$good" -H "Host: admin.example.com")
expect_match "deny: 403 for the admin portal without a compliant device" '^HTTP/1.1 403' "$hdrs"
expect_match "deny: X-PDP-Reason names the policy and why" \
	'^X-PDP-Reason: admins-strong-auth: compliant device required$' "$hdrs"
expect_match "deny: X-PDP-Decision: deny" '^X-PDP-Decision: deny$' "$hdrs"
expect "a compliant device from the store opens the admin portal" 200 \
	"$(status_at "$url/users" "$key_admin" -H "Host: admin.example.com")"
hdrs=$(headers_at "$url/app" "$pwd_only")
expect_match "step-up: password only, outside trusted networks: 401" '^HTTP/1.1 401' "$hdrs"
expect "step-up: exactly one WWW-Authenticate, the RFC 9470 challenge" \
	'WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="stronger authentication required", acr_values="https://refeds.org/profile/mfa"' \
	"$(grep -i '^WWW-Authenticate:' <<<"$hdrs")"
expect_match "step-up: X-PDP-Decision says step-up" '^X-PDP-Decision: step-up$' "$hdrs"
hdrs=$(headers_at "$url/payroll/run" "$stale" -X POST -H "Host: api.example.com")
expect "step-up: a 2-hour-old sign-in for a payroll change asks max_age=3600, once" \
	'WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="sign-in too old", max_age=3600' \
	"$(grep -i '^WWW-Authenticate:' <<<"$hdrs")"
hdrs=$(curl -s -m 5 -D - -o /dev/null "$url/app" | tr -d '\r')
expect_match "unauthenticated: 401" '^HTTP/1.1 401' "$hdrs"
expect "unauthenticated: exactly one WWW-Authenticate, RFC 6750 with realm only" \
	'WWW-Authenticate: Bearer realm="pdp-demo"' "$(grep -i '^WWW-Authenticate:' <<<"$hdrs")"
hdrs=$(curl -s -m 5 -D - -o /dev/null -H 'Accept: text/html' "$url/app?x=1" | tr -d '\r')
expect_match "unauthenticated browser: sent to sign in with rd" \
	"^Location: http://127.0.0.1:$port/signin\?rd=http%3A%2F%2F127.0.0.1%3A$port%2Fapp%3Fx%3D1$" "$hdrs"
hdrs=$(headers_at "$url/app" "${good%.*}.AAAA")
expect_match "invalid token: 401 invalid_token" \
	'^WWW-Authenticate: Bearer realm="pdp-demo", error="invalid_token", error_description="' "$hdrs"
expect "health over HTTP: 200" 200 "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url/pdp/health")"
expect_match "health over HTTP: ok" '"status":"ok"' "$(curl -s -m 5 "$url/pdp/health")"
expect_match "metrics over HTTP: Prometheus text" '^Content-Type: text/plain; version=0.0.4' \
	"$(curl -s -m 5 -D - -o /dev/null "$url/pdp/metrics" | tr -d '\r')"
m=$(metrics)
expect_match "metrics: connections accepted, counted per front" \
	'^pdp_connections_accepted_total\{front="fastcgi"\} [0-9]+$' "$(grep '^pdp_connections_accepted_total{front="fastcgi"}' <<<"$m")"
expect_match "metrics: the HTTP front's connections are counted" \
	'^pdp_connections_accepted_total\{front="http"\} [1-9][0-9]*$' "$(grep '^pdp_connections_accepted_total{front="http"}' <<<"$m")"
expect "metrics: refused to a caller that is not local (127.0.0.2)" 403 \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' --interface 127.0.0.2 "$url/pdp/metrics")"

# A request with a body: nginx sends none of it, and no Content-Length or
# Transfer-Encoding either (the PDP refuses a request that announces a body).
expect "a POST with a body is decided (allowed)" 200 \
	"$(status_at "$url/app" "$good" --data-binary 'some=body')"
expect "a POST with a chunked body is decided (allowed)" 200 \
	"$(status_at "$url/app" "$good" -H 'Transfer-Encoding: chunked' --data-binary 'some=body')"
expect "a payroll POST with a body, stale sign-in: step-up" 401 \
	"$(status_at "$url/payroll/run" "$stale" -H "Host: api.example.com" --data-binary 'x=1')"

# --- one PDP, both fronts: the FastCGI socket answers too --------------------------
m0=$(metrics)
fcgi() { env -i "$@" cgi-fcgi -bind -connect "$sock" 2>/dev/null | tr -d '\r'; }
expect_match "the FastCGI socket of the same PDP allows a valid token" '^X-PDP-User: alice@example.com$' \
	"$(fcgi REMOTE_ADDR=127.0.0.1 HTTP_AUTHORIZATION="Bearer $good" PDP_METHOD=GET PDP_HOST=h PDP_URI=/)"
m1=$(metrics)
expect "the FastCGI connection is counted under front=fastcgi" 1 "$(($(accepted fastcgi "$m1") - $(accepted fastcgi "$m0")))"

# --- client-sent contract headers never reach the PDP ------------------------------
# nginx sets each of its own, so one that got through would be a duplicate (400, so 500)
# or a different decision; either fails the answer expected.
for h in X-PDP-Remote-Addr X-PDP-Method X-PDP-Host X-PDP-URI X-PDP-Scheme X-PDP-Authority \
	X-PDP-Request-Id X-PDP-Country X-PDP-Client-Cert X-PDP-Admin; do
	expect "client's $h: the allow is unchanged" "user=alice@example.com groups=admins,eng" \
		"$(curl -s -m 5 -H "Authorization: Bearer $good" -H "$h: forged-by-client" "$url/app")"
done
expect "client's X-PDP-Method: GET on a payroll POST: still the write's step-up" 401 \
	"$(status_at "$url/payroll/run" "$stale" -X POST -H "Host: api.example.com" -H 'X-PDP-Method: GET')"
expect "client's X-PDP-Host: admin.example.com does not make /users the admin portal" 200 \
	"$(status_at "$url/users" "$good" -H 'X-PDP-Host: admin.example.com')"
expect "client's X-PDP-Host: intranet.example.com does not take the admin portal elsewhere" 403 \
	"$(status_at "$url/users" "$good" -H "Host: admin.example.com" -H 'X-PDP-Host: intranet.example.com')"
expect "client's X-PDP-URI: /payroll/run on a POST to /app: not the payroll app" 200 \
	"$(status_at "$url/app" "$stale" -X POST -H "Host: api.example.com" -H 'X-PDP-URI: /payroll/run')"
expect "client's X-PDP-Remote-Addr of a trusted network: still the step-up" 401 \
	"$(status_at "$url/app" "$pwd_only" -H 'X-PDP-Remote-Addr: 10.1.2.3')"
expect "client's X-PDP-Country: KP (embargoed): still allowed" 200 \
	"$(status_at "$url/app" "$good" -H 'X-PDP-Country: KP')"
body=$(curl -s -m 5 -H "Authorization: Bearer $good" -H 'X-PDP-Admin: metrics' "$url/app")
expect "client's X-PDP-Admin: metrics on a protected path: the app, not the metrics" \
	"user=alice@example.com groups=admins,eng" "$body"
hdrs=$(curl -s -m 5 -D - -H 'X-PDP-Admin: metrics' "$url/app" | tr -d '\r')
expect_match "client's X-PDP-Admin: metrics without a token: 401" '^HTTP/1.1 401' "$hdrs"
expect "client's X-PDP-Admin: metrics without a token: no metrics in the answer" "" \
	"$(grep -m1 '^pdp_' <<<"$hdrs")"
hdrs=$(curl -s -m 5 -D - -o /dev/null -H 'Accept: text/html' -H 'X-PDP-Scheme: https' \
	-H 'X-PDP-Authority: evil.example.com' "$url/app" | tr -d '\r')
expect_match "client's X-PDP-Scheme and X-PDP-Authority: the sign-in rd is nginx's" \
	"^Location: http://127.0.0.1:$port/signin\?rd=http%3A%2F%2F127.0.0.1%3A$port%2Fapp$" "$hdrs"
dlog=$work/decisions.jsonl
# Written off the request path: give the last lines a moment.
sleep 0.5
expect "decision log: no field holds a value a client sent under a contract name" "" \
	"$(grep -E 'forged-by-client|10\.1\.2\.3|evil\.example\.com' "$dlog" | head -3)"
expect_match "decision log: the request id is nginx's" '"request_id":"[0-9a-f]{32}"' "$(tail -1 "$dlog")"

# --- the PDP's front alone: what nginx never sends gets 400 and the connection closed
# raw REQUEST_ARGS...: curl to the HTTP socket, verbose; the answer and curl's account.
raw() { curl -sv -m 5 --unix-socket "$hsock" -o /dev/null "$@" 2>&1 | tr -d '\r'; }
pdp_hdrs=(-H "X-PDP-Remote-Addr: 127.0.0.1" -H "X-PDP-Method: GET" -H "X-PDP-Host: h" -H "X-PDP-URI: /")
out=$(raw "${pdp_hdrs[@]}" -H "Authorization: Bearer $good" http://localhost/)
expect_match "direct: a request as nginx sends it is allowed" '^< HTTP/1.1 200' "$out"
expect_match "direct: the answer has Content-Length: 0" '^< Content-Length: 0$' "$out"
expect_match "direct: and the connection is kept" 'left intact' "$out"
# refused NAME CURL_ARGS...: 400, Connection: close, and curl saw the connection closed.
refused() {
	local name=$1 out
	shift
	out=$(raw "${pdp_hdrs[@]}" -H "Authorization: Bearer $good" "$@")
	expect_match "direct: $name: 400" '^< HTTP/1.1 400' "$out"
	if grep -q '^< Connection: close$' <<<"$out" && ! grep -q 'left intact' <<<"$out"; then
		ok "direct: $name: connection closed"
	else
		not_ok "direct: $name: connection closed" "$(grep -E '^[<*]' <<<"$out" | head -20)"
	fi
}
refused "a body (Content-Length: 9)" --data-binary 'some=body' http://localhost/
refused "a chunked body" -H 'Transfer-Encoding: chunked' --data-binary 'some=body' http://localhost/
refused "an absolute-form target" --request-target http://localhost/app http://localhost/
refused "a contract header given twice" -H 'X-PDP-Country: KP' -H 'X-PDP-Country: US' http://localhost/

# --- nginx keeps connections to the PDP --------------------------------------------
# Four clients, 1000 requests each; every answer an allow. nginx keeps up to 32 idle
# connections a worker: far fewer connections than requests reach the PDP.
m0=$(metrics)
for c in 1 2 3 4; do
	curl -s -m 120 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $good" \
		"$url/app?c=$c&n=[1-1000]" >"$work/keep-$c.out" &
	loader_pids+=($!)
done
for p in "${loader_pids[@]}"; do wait "$p"; done
loader_pids=()
m1=$(metrics)
requests=$(cat "$work"/keep-*.out | wc -l)
expect "keep-alive load: every one of $requests answers was allow" "4000 200" \
	"$requests $(sort -u "$work"/keep-*.out | tr '\n' ' ' | sed 's/ $//')"
decided=$(($(decisions "$m1") - $(decisions "$m0")))
conns=$(($(accepted http "$m1") - $(accepted http "$m0")))
if [ "$decided" -ge 4000 ]; then ok "keep-alive load: the PDP decided all $decided"; else not_ok "keep-alive load: the PDP decided all" "only $decided decisions"; fi
if [ "$conns" -le $((requests / 20)) ]; then
	ok "keep-alive load: nginx reused connections ($conns accepted for $requests requests)"
else
	not_ok "keep-alive load: nginx reused connections" "$conns connections accepted for $requests requests (at most $((requests / 20)) wanted)"
fi

# --- a policy reload every 100 ms under load ---------------------------------------
# Two valid sets in turn: with and without a report-only policy (no answer changes).
hr_trial='policies: [{ id: hr-block-trial, state: report-only, users: { include: all }, apps: { include: [hr] }, grant: block }]
'
# load NAME CURL_ARGS...: batches of 50 requests until the stop file appears
# (at most 400 batches), each status on a line of NAME.out.
load() {
	local name=$1
	shift
	for _ in $(seq 1 400); do
		[ -e "$work/load.stop" ] && break
		curl -s -m 5 -o /dev/null -w '%{http_code}\n' "$@" "$url/$name?n=[1-50]"
	done >"$work/$name.out"
}
rm -f "$work/load.stop"
load app -H "Authorization: Bearer $good" & loader_pids+=($!)
load users -H "Authorization: Bearer $good" -H "Host: admin.example.com" & loader_pids+=($!)
load open & loader_pids+=($!)
m0=$(metrics)
reloads=$(fixture_reload_changes 100 0.1 "$hr_trial")
touch "$work/load.stop"
for p in "${loader_pids[@]}"; do wait "$p"; done
loader_pids=()
m1=$(metrics)
# Signals that arrive together coalesce, and inotify adds its own: count, don't match.
if [ "$reloads" -ge 50 ]; then ok "reloads under load: $reloads reloads for 100 changes"; else not_ok "reloads under load" "only $reloads reloads"; fi
expect "reloads under load: every one of $(wc -l <"$work/app.out") allows was 200" 200 \
	"$(sort -u "$work/app.out" | tr '\n' ' ' | sed 's/ $//')"
expect "reloads under load: every one of $(wc -l <"$work/users.out") denies was 403" 403 \
	"$(sort -u "$work/users.out" | tr '\n' ' ' | sed 's/ $//')"
expect "reloads under load: every one of $(wc -l <"$work/open.out") unauthenticated was 401" 401 \
	"$(sort -u "$work/open.out" | tr '\n' ' ' | sed 's/ $//')"
total=$(cat "$work"/{app,users,open}.out | wc -l)
conns=$(($(accepted http "$m1") - $(accepted http "$m0")))
if [ "$total" -ge 300 ] && [ "$conns" -le $((total / 20)) ]; then
	ok "reloads under load: connections kept across reloads ($conns accepted for $total requests)"
else
	not_ok "reloads under load: connections kept across reloads" "$conns connections accepted for $total requests"
fi
rm -f "$work/policies/40-reload.yaml"
kill -HUP "$pdp_pid"

# Connections idle past the PDP's read_timeout (1 s) are closed, by nginx first
# (keepalive_timeout in pdp-http.conf): the next decisions open new ones.
sleep 1.5
expect "after the kept connections sat idle past read_timeout: allowed" "200 200 200" \
	"$(for _ in 1 2 3; do status_at "$url/app" "$good"; echo; done | tr '\n' ' ' | sed 's/ $//')"

# The PDP closes no kept connection under nginx: nginx saw no reset or early close.
expect "nginx saw no reset or early close from the PDP" "" \
	"$(grep -E 'reset by peer|prematurely closed|upstream' "$work/nginx-error.log" 2>&1 | head -3)"

# --- fail closed ---------------------------------------------------------------
kill -TERM "$pdp_pid"
wait "$pdp_pid"
expect "SIGTERM: clean exit" 0 "$?"
pdp_pid=""
expect "PDP stopped: nginx answers 500, never allow" 500 "$(status_at "$url/app" "$good")"
expect "PDP stopped: no token is 500 too" 500 "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url/app")"

expect_no_crash_report "$work/pdp.log"

echo "http: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
