#!/usr/bin/env bash
# End-to-end: the real daemon behind a real nginx on loopback, driven with curl.
# usage: test_nginx.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_nginx.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/fixture.sh"

fixture_start it



start_pdp() {
	"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
	pdp_pid=$!
	pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
}

pdp_make_keys "$bin" "$work"
# Keys as an issuer publishes them: RSA only by x5c and without "alg" (the issuer's
# algorithms pick PS256), Ed25519, and an encryption key first.
"$bin/pdp-mint" keygen rsa --kid ps-1 --key "$work/ps-1.pem" >/dev/null
"$bin/pdp-mint" keygen ed25519 --kid ed-1 --key "$work/ed-1.pem" --jwks "$work/keys.json" >/dev/null
x5c=$(openssl req -x509 -key "$work/ps-1.pem" -subj /CN=ps-1 -days 1 -outform DER 2>/dev/null | base64 -w0)
ed=$(tr -d ' \n' <"$work/keys.json" | sed 's/^{"keys":\[\(.*\)\]}$/\1/')
printf '{"keys":[{"kty":"RSA","use":"enc","alg":"RSA-OAEP","kid":"enc-1","x5c":["%s"]},{"kty":"RSA","kid":"ps-1","x5t":"eA","issuer":"https://keys.example.com/","x5c":["%s"]},%s]}' \
	"$x5c" "$x5c" "$ed" >"$work/keys.json"
# The embedded context store: a file of device and user records, reloaded on change.
printf 'devices:\n  - { id: dev-9, compliant: true, trust: joined }\n' >"$work/context.yaml"
# A short settle window: the reloads under load below change a file and send SIGHUP every
# 40 ms, and a SIGHUP while a change settles confirms that reload and waits for it.
pdp_write_config "$work" "$sock" "  - issuer: https://keys.example.com/
    audiences: [https://apps.example.com]
    jwks_file: keys.json
    algorithms: [PS256, EdDSA]
store: { type: file, path: context.yaml }
reload: { settle: 10ms }"
"$bin/pdp" check -c "$work/pdp.yaml" >/dev/null || { echo "pdp check failed"; exit 1; }
start_pdp
read -r port app_port < <(pdp_nginx_up "$work" "$sock") || { echo "nginx did not start"; exit 1; }
[ -n "$port" ] || { echo "nginx did not start"; exit 1; }
url=http://127.0.0.1:$port

now=$(date +%s)
iss=https://idp.example.com/
aud=https://apps.example.com
# Callers sign in with MFA: the sample policies require it outside trusted networks.
claims() { echo "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"alice@example.com\",\"groups\":[\"admins\",\"eng\"],\"amr\":[\"pwd\",\"mfa\"]$1}"; }
mint() { pdp_mint "$bin" "$work" "$1" "$2"; }
b64url() { basenc --base64url -w0 | tr -d '='; }

# status TOKEN [curl args]: the HTTP status nginx answers for a bearer token at /app.
status() {
	local tok=$1; shift
	status_at "$url/app" "$tok" "$@"
}
# status_at URL TOKEN [curl args]: the same for another URL.
status_at() {
	local at=$1 tok=$2; shift 2
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$@" "$at"
}

# --- allowed callers ---------------------------------------------------------
good=$(mint RS256 "$(claims '')")
body=$(curl -s -H "Authorization: Bearer $good" -H "X-PDP-User: mallory" "$url/app")
expect "RS256 token: allowed, identity reaches the upstream" "user=alice@example.com groups=admins,eng" "$body"
expect "ES256 token allowed" 200 "$(status "$(mint ES256 "$(claims '')")")"
hs=$(pdp_mint "$bin" "$work" HS256 "{\"iss\":\"https://internal.example.com/\",\"aud\":\"$aud\",\"sub\":\"svc\",\"amr\":[\"mfa\"]}")
expect "HS256 token of a second issuer allowed" 200 "$(status "$hs")"
kclaims='{"iss":"https://keys.example.com/","aud":"https://apps.example.com","sub":"bob","amr":["mfa"]}'
kmint() { "$bin/pdp-mint" token --alg "$1" --key "$work/$2.pem" --kid "$3" --claims "$kclaims"; }
expect "PS256 token, key published only by x5c, allowed" 200 "$(status "$(kmint PS256 ps-1 ps-1)")"
expect "EdDSA token allowed" 200 "$(status "$(kmint EdDSA ed-1 ed-1)")"
expect "RS256 token for a PS256 issuer refused" 401 "$(status "$(kmint RS256 ps-1 ps-1)")"
expect "EdDSA token naming the RSA key refused" 401 "$(status "$(kmint EdDSA ed-1 ps-1)")"
expect "PS256 token naming the Ed25519 key refused" 401 "$(status "$(kmint PS256 ps-1 ed-1)")"
expect "token naming the encryption key refused" 401 "$(status "$(kmint PS256 ps-1 enc-1)")"
expect "token from the configured cookie allowed" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' --cookie "pdp_token=$good" "$url/app")"
expect "repeated token (cache hit) still allowed" 200 "$(status "$good")"

# --- no token ----------------------------------------------------------------
hdrs=$(curl -s -D - -o /dev/null "$url/app")
expect_match "no token: 401" '^HTTP/1.1 401' "$hdrs"
expect_match "no token: RFC 6750 challenge with realm only" \
	'WWW-Authenticate: Bearer realm="pdp-demo"'$'\r' "$hdrs"
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' "$url/app?x=1")
expect_match "browser without token is sent to sign in" \
	"Location: http://127.0.0.1:$port/signin\?rd=http%3A%2F%2F127.0.0.1%3A$port%2Fapp%3Fx%3D1"$'\r' "$hdrs"

# --- hostile tokens: each one 401 invalid_token --------------------------------
hdr_rs='{"alg":"RS256","typ":"JWT","kid":"rsa-1"}'
payload=$(claims ",\"exp\":$((now + 600))" | b64url)
sig=${good##*.}
pubhex=$(openssl pkey -in "$work/rsa-1.pem" -pubout | od -An -tx1 | tr -d ' \n')
hs_input="$(printf '%s' '{"alg":"HS256","typ":"JWT","kid":"rsa-1"}' | b64url).$payload"
hs_sig=$(printf '%s' "$hs_input" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$pubhex" -binary | b64url)
big_claim=$(head -c 5000 /dev/zero | tr '\0' 'x')

declare -A hostile=(
	["alg none"]="$(printf '%s' '{"alg":"none"}' | b64url).$payload."
	["alg none with a signature"]="$(printf '%s' '{"alg":"none","kid":"rsa-1"}' | b64url).$payload.$sig"
	["HS256 keyed with the RSA public key"]="$hs_input.$hs_sig"
	["unknown kid"]="$("$bin/pdp-mint" token --alg RS256 --key "$work/rsa-1.pem" --kid nope --claims "$(claims '')")"
	["kid of the wrong key type"]="$("$bin/pdp-mint" token --alg ES256 --key "$work/ec-1.pem" --kid rsa-1 --claims "$(claims '')")"
	["bad signature"]="${good%.*}.${sig:0:20}AAAA${sig:24}"
	["payload swapped under a valid signature"]="$(printf '%s' "$hdr_rs" | b64url).$(claims ',"groups":["root"]' | b64url).$sig"
	["truncated (two segments)"]="${good%.*}"
	["extra segment"]="$good.e30"
	["bad base64url"]="${good:0:10}+${good:11}"
	["non-JSON header"]="$(printf 'not json' | b64url).$payload.$sig"
	["non-JSON payload"]="$(printf '%s' "$hdr_rs" | b64url).$(printf 'not json' | b64url).$sig"
	["expired"]="$(mint RS256 "$(claims ",\"exp\":-300")")"
	["not yet valid"]="$(mint RS256 "$(claims ",\"nbf\":600")")"
	["wrong issuer"]="$(mint RS256 "{\"iss\":\"https://evil.example.com/\",\"aud\":\"$aud\",\"sub\":\"a\"}")"
	["wrong audience"]="$(mint RS256 "{\"iss\":\"$iss\",\"aud\":\"https://other.example.com\",\"sub\":\"a\"}")"
	["oversized token"]="$(mint RS256 "$(claims ",\"pad\":\"$big_claim\"")")"
	["claims of the wrong type"]="$(mint RS256 "$(claims ',"groups":"admins"')")"
	["subject of the wrong type"]="$(mint RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":42}")"
)
for name in "${!hostile[@]}"; do
	hdrs=$(curl -s -D - -o /dev/null -H "Authorization: Bearer ${hostile[$name]}" "$url/app")
	if grep -q '^HTTP/1.1 401' <<<"$hdrs" &&
		grep -q 'WWW-Authenticate: Bearer realm="pdp-demo", error="invalid_token", error_description="' <<<"$hdrs"; then
		ok "hostile: $name -> 401 invalid_token"
	else
		not_ok "hostile: $name -> 401 invalid_token" "$(printf '%s' "$hdrs" | head -3)"
	fi
done
# Larger than nginx lets through (its header buffers, deploy/nginx: 32k): refused before the PDP.
huge=$(head -c 40000 /dev/zero | tr '\0' 'A')
expect "header larger than nginx accepts is refused" 400 "$(status "$huge")"
expect "malformed bearer credential is 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer a"b' "$url/app")"

# --- TCP listener: the same answers over tcp:127.0.0.1 (queried directly) ------
# Asked by libfcgi's own client (cgi-fcgi).
for transport in epoll; do
	# A probed free port can be taken before we bind it: try another when the daemon exits.
	for _ in 1 2 3 4 5; do
		tcp_port=$(pdp_free_port)
		{
			sed "s#^listen: .*#listen: tcp:127.0.0.1:$tcp_port#" "$work/pdp.yaml"
			echo "transport: $transport"
		} >"$work/pdp-tcp.yaml"
		"$bin/pdp" serve -c "$work/pdp-tcp.yaml" 2>>"$work/pdp.log" &
		tcp_pid=$!
		for _ in $(seq 1 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$tcp_port") 2>/dev/null && break 2
			kill -0 "$tcp_pid" 2>/dev/null || break
			sleep 0.05
		done
		wait "$tcp_pid" 2>/dev/null
	done
	fcgi() { env -i "$@" cgi-fcgi -bind -connect "127.0.0.1:$tcp_port" 2>/dev/null | tr -d '\r'; }
	expect_match "TCP listener ($transport): valid token allowed" '^X-PDP-User: alice@example.com$' \
		"$(fcgi HTTP_AUTHORIZATION="Bearer $good" PDP_METHOD=GET PDP_HOST=h PDP_URI=/)"
	expect_match "TCP listener ($transport): no token challenged" '^Status: 401' \
		"$(fcgi PDP_METHOD=GET PDP_HOST=h PDP_URI=/)"
	expect_match "nginx params missing ($transport): 500, never allow" '^Status: 500' \
		"$(fcgi HTTP_AUTHORIZATION="Bearer $good")"
	kill -TERM "$tcp_pid"
	wait "$tcp_pid"
	expect "TCP listener ($transport): clean exit on SIGTERM" 0 "$?"
done

# --- conditional access: deny and step-up reach the client ------------------------
hdrs=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $good" -H "Host: admin.example.com" "$url/users")
expect_match "deny: 403 for the admin portal without a compliant device" '^HTTP/1.1 403' "$hdrs"
expect_match "deny: X-PDP-Reason names the policy and why" \
	'X-PDP-Reason: admins-strong-auth: compliant device required' "$hdrs"
# until_status WANT URL TOKEN [curl args]: asks for up to 5 s until the answer is WANT.
until_status() {
	local want=$1 got; shift
	for _ in $(seq 1 100); do
		got=$(status_at "$@")
		[ "$got" = "$want" ] && break
		sleep 0.05
	done
	echo "$got"
}
key_admin=$(mint RS256 "$(claims ',"amr":["hwk"],"deviceid":"dev-9","auth_time":-60')")
expect "file store: a compliant device from context.yaml opens the admin portal" 200 \
	"$(status_at "$url/users" "$key_admin" -H "Host: admin.example.com")"
# A browser is sent to sign in with what the step-up asks, ahead of rd (OIDC acr_values).
mfa_admin=$(mint RS256 "$(claims ',"deviceid":"dev-9","auth_time":-60')")
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' -H "Authorization: Bearer $mfa_admin" \
	-H "Host: admin.example.com" "$url/users")
expect_match "step-up in a browser: sent to sign in with the strength's acr_values" \
	"Location: http://127.0.0.1:$port/signin\?acr_values=urn%3Aexample%3Aacr%3Aphr&rd=http%3A%2F%2Fadmin.example.com%2Fusers"$'\r' "$hdrs"
printf 'devices:\n  - { id: dev-9, compliant: false, trust: joined }\n' >"$work/context.yaml.new"
mv "$work/context.yaml.new" "$work/context.yaml"
expect "file store: context.yaml edited (non-compliant): reloaded, denied" 403 \
	"$(until_status 403 "$url/users" "$key_admin" -H "Host: admin.example.com")"
printf 'devices:\n  - { id: dev-9, compliant: maybe }\n' >"$work/context.yaml"
kill -HUP "$pdp_pid"
sleep 0.3
expect_match "file store: a bad edit is refused with file:line:col" \
	'context store reload failed.*context.yaml:2:29: compliant must be 0 or 1' "$(cat "$work/pdp.log")"
expect "file store: the last good records keep serving" 403 \
	"$(status_at "$url/users" "$key_admin" -H "Host: admin.example.com")"
printf 'devices:\n  - { id: dev-9, compliant: false, trust: joined }\n' >"$work/context.yaml"
# As a Kubernetes ConfigMap mounts it: context.yaml -> ..data/context.yaml, ..data -> ..vN,
# and a change swaps ..data alone (no event names context.yaml).
configmap_swap() {
	mkdir "$work/..v$1"
	printf 'devices:\n  - { id: dev-9, compliant: %s, trust: joined }\n' "$2" >"$work/..v$1/context.yaml"
	ln -s "..v$1" "$work/..data_tmp"
	mv -T "$work/..data_tmp" "$work/..data"
}
configmap_swap 1 false
reloads=$(grep -c 'context store reloaded' "$work/pdp.log")
ln -s ..data/context.yaml "$work/context.yaml.link"
mv -T "$work/context.yaml.link" "$work/context.yaml"
for _ in $(seq 1 100); do
	[ "$(grep -c 'context store reloaded' "$work/pdp.log")" -gt "$reloads" ] && break
	sleep 0.05
done
expect "file store: context.yaml replaced by a ConfigMap's link: reloaded" 1 \
	"$(($(grep -c 'context store reloaded' "$work/pdp.log") > reloads))"
configmap_swap 2 true
expect "file store: a ConfigMap's swap of ..data is seen (compliant again)" 200 \
	"$(until_status 200 "$url/users" "$key_admin" -H "Host: admin.example.com")"
configmap_swap 3 false
expect "file store: and the next swap too (non-compliant)" 403 \
	"$(until_status 403 "$url/users" "$key_admin" -H "Host: admin.example.com")"
pwd_only=$(mint RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"bob@example.com\",\"amr\":[\"pwd\"]}")
hdrs=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $pwd_only" "$url/app")
expect_match "step-up: password only, outside trusted networks: 401" '^HTTP/1.1 401' "$hdrs"
expect_match "step-up: RFC 9470 challenge reaches the client, asking for the mfa strength's acr" \
	'WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="stronger authentication required", acr_values="https://refeds.org/profile/mfa"'$'\r' "$hdrs"
expect_match "step-up: X-PDP-Decision says step-up" 'X-PDP-Decision: step-up' "$hdrs"
stale=$(mint RS256 "$(claims ',"auth_time":-7200')")
hdrs=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $stale" -H "Host: api.example.com" "$url/payroll/run")
expect_match "step-up: a 2-hour-old sign-in for a payroll change asks max_age=3600" \
	'WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="sign-in too old", max_age=3600' "$hdrs"
hdrs=$(curl -s -D - -o /dev/null -X POST -H 'Accept: text/html' -H "Authorization: Bearer $stale" \
	-H "Host: api.example.com" "$url/payroll/run")
expect_match "step-up in a browser: sent to sign in with max_age=3600" \
	"Location: http://127.0.0.1:$port/signin\?max_age=3600&rd=http%3A%2F%2Fapi.example.com%2Fpayroll%2Frun"$'\r' "$hdrs"
expect "a payroll read with the same token is allowed" 200 \
	"$(status_at "$url/payroll/run" "$stale" -H "Host: api.example.com")"
hdrs=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $stale" -H "Host: api.example.com" "$url/x/../payroll/run")
expect_match "a dot-segment path cannot dodge the payroll app" 'max_age=3600' "$hdrs"
expect "allow: the upstream sees the policies that applied" "policies=mfa-outside-trusted" \
	"$(curl -s -H "Authorization: Bearer $good" "$url/policies")"

# --- live reload: SIGHUP swaps valid sets, keeps the last good one on errors ----
block_intranet='policies:
  - id: block-intranet
    users: { include: all }
    apps: { include: [intranet] }
    grant: block
'
intranet() { status_at "$url/" "$good" -H "Host: intranet.example.com"; }
expect "before reload: intranet allowed" 200 "$(intranet)"
printf '%s' "$block_intranet" >"$work/policies/40-reload.yaml"
kill -HUP "$pdp_pid"
for _ in $(seq 1 50); do [ "$(intranet)" = 403 ] && break; sleep 0.1; done
expect "after SIGHUP: the new policy decides" 403 "$(intranet)"
expect_match "the reload is logged with the new revision" 'policies reloaded: policy revision [0-9a-f]{16}' "$(cat "$work/pdp.log")"
printf 'policies:\n  - id: broken\n    users: nobody\n' >"$work/policies/41-broken.yaml"
kill -HUP "$pdp_pid"
for _ in $(seq 1 50); do grep -q 'policy reload failed' "$work/pdp.log" && break; sleep 0.1; done
expect_match "a broken file is reported with file:line:col" \
	'policy reload failed, the last good set keeps serving: .*41-broken.yaml:3:12: expected a mapping' "$(cat "$work/pdp.log")"
expect "a broken file keeps the last good set serving" 403 "$(intranet)"
rm -f "$work/policies/41-broken.yaml" "$work/policies/40-reload.yaml"
kill -HUP "$pdp_pid"
for _ in $(seq 1 50); do [ "$(intranet)" = 200 ] && break; sleep 0.1; done
expect "reload back: intranet allowed again" 200 "$(intranet)"

# SIGHUP alone reloads, with no file changed.
n0=$(grep -c 'policies reloaded' "$work/pdp.log")
kill -HUP "$pdp_pid"
for _ in $(seq 1 50); do [ "$(grep -c 'policies reloaded' "$work/pdp.log")" -gt "$n0" ] && break; sleep 0.1; done
expect "SIGHUP alone reloads the policies" 1 "$(( $(grep -c 'policies reloaded' "$work/pdp.log") - n0 ))"

# A saved file is picked up without any signal (inotify).
printf '%s' "$block_intranet" >"$work/policies/40-reload.yaml"
for _ in $(seq 1 50); do [ "$(intranet)" = 403 ] && break; sleep 0.1; done
expect "a saved policy file takes effect without a signal" 403 "$(intranet)"
rm -f "$work/policies/40-reload.yaml"
for _ in $(seq 1 50); do [ "$(intranet)" = 200 ] && break; sleep 0.1; done
expect "a removed policy file takes effect without a signal" 200 "$(intranet)"

# 200 reloads, alternating two valid sets, under a bounded load: no failed or wrong answer.
hr_trial='policies:
  - id: hr-block-trial
    state: report-only
    users: { include: all }
    apps: { include: [hr] }
    grant: block
'
load_during_reloads() {
	for _ in $(seq 1 1500); do status "$good" --max-time 2; echo; done >"$work/reload-load.out"
}
load_during_reloads & loader=$!
# Each SIGHUP confirms the reload of the change, which waits reload.settle (10 ms
# here), then reads until two reads agree: changes spaced wider are each reloaded.
reloads=$(fixture_reload_changes 200 0.04 "$hr_trial")
wait "$loader"
# Signals that arrive together coalesce, and inotify adds its own: count, don't match.
if [ "$reloads" -ge 120 ]; then ok "reloads under load: $reloads reloads for 200 changes"; else not_ok "reloads under load" "only $reloads reloads"; fi
expect "reloads under load: every one of $(wc -l <"$work/reload-load.out") answers was allow" "200" \
	"$(sort -u "$work/reload-load.out" | tr '\n' ' ' | sed 's/ $//')"
rm -f "$work/policies/40-reload.yaml"
kill -HUP "$pdp_pid"

# --- decision log: one JSON line per decision, never a token; SIGUSR1 reopens ----
dlog=$work/decisions.jsonl
for _ in $(seq 1 20); do [ -s "$dlog" ] && break; sleep 0.1; done
expect "decision log: every line is one JSON object" "" \
	"$(grep -v '^{"time":"[0-9T:.-]*Z",.*}$' "$dlog" | head -3)"
expect_match "decision log: a deny with the policy and why" \
	'"decision":"deny","user":"alice@example.com","app":"admin-portal","reason":"admins-strong-auth: compliant device required","policies":\[.*"revision":"[0-9a-f]{16}","latency_us":[0-9]+\}' \
	"$(cat "$dlog")"
expect_match "decision log: a step-up" '"decision":"step-up","user":"bob@example.com"' "$(cat "$dlog")"
expect_match "decision log: an invalid token, without its claims" \
	'"decision":"unauthenticated","reason":"invalid signature","latency_us"' "$(cat "$dlog")"
sig_part=${good##*.}
expect "decision log: no token appears in it" 0 "$(grep -c -F "$sig_part" "$dlog")"
mv "$dlog" "$dlog.1"
kill -USR1 "$pdp_pid"
for _ in $(seq 1 50); do status "$good" >/dev/null; [ -s "$dlog" ] && break; sleep 0.1; done
expect_match "decision log: SIGUSR1 reopens after rotation" '"decision":"allow"' "$(cat "$dlog" 2>/dev/null)"

# --- metrics: Prometheus text, for local callers only ---------------------------
metrics() { curl -s -m 5 "$url/pdp/metrics"; }
m0=$(metrics)
for _ in 1 2 3; do status "$good" >/dev/null; done
status "${hostile[bad signature]}" >/dev/null
m1=$(metrics)
allow='pdp_decisions_total{decision="allow"}'
badsig='pdp_token_rejections_total{reason="bad_signature"}'
expect "metrics: three more allows counted" 3 $(($(pdp_metric "$allow" "$m1") - $(pdp_metric "$allow" "$m0")))
expect "metrics: the bad signature counted by reason" 1 $(($(pdp_metric "$badsig" "$m1") - $(pdp_metric "$badsig" "$m0")))
expect "metrics: every decision is in the latency histogram" \
	"$(awk '/^pdp_decisions_total/ { n += $2 } END { print n }' <<<"$m1")" \
	"$(pdp_metric 'pdp_decision_duration_seconds_count' "$m1")"
expect_match "metrics: the reloads above are counted" '^pdp_policy_reloads_total\{result="ok"\} [1-9][0-9]{2}' "$m1"
expect_match "metrics: the failed reload too" '^pdp_policy_reloads_total\{result="failed"\} [1-9]' "$m1"
expect_match "metrics: the policy revision serving now" "^pdp_policy_info\\{revision=\"[0-9a-f]{16}\"\\} 1$" "$m1"
expect_match "metrics: token cache hits" '^pdp_cache_hits_total\{cache="token"\} [1-9]' "$m1"
expect_match "metrics: served as Prometheus text" '^Content-Type: text/plain; version=0.0.4' \
	"$(curl -s -D - -o /dev/null "$url/pdp/metrics" | tr -d '\r')"
expect "metrics: refused to a caller that is not local (127.0.0.2)" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$url/pdp/metrics")"
expect "health: refused to a caller that is not local (127.0.0.2)" 403 \
	"$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 "$url/pdp/health")"

# The PDP closes a connection without lingering when nothing is left unread: nginx
# must never have seen a reset or an early close from it in all the answers above.
expect "nginx saw no reset or early close from the PDP" "" \
	"$(grep -E 'reset by peer|prematurely closed' "$work/nginx-error.log" 2>&1 | head -3)"

# --- fail closed -------------------------------------------------------------
kill -TERM "$pdp_pid"
wait "$pdp_pid"
pdp_pid=""
expect "PDP stopped: nginx answers 500, never allow" 500 "$(status "$good")"

# --- SIGTERM under traffic -----------------------------------------------------
start_pdp
bad=${hostile["bad signature"]}
load() { # TOKEN OUT: bounded request loop, one status per line
	for _ in $(seq 1 400); do status "$1" --max-time 2; echo; done >"$2"
}
load "$good" "$work/good.out" & l1=$!
load "$bad" "$work/bad.out" & l2=$!
sleep 0.5
t0=$(date +%s%N)
kill -TERM "$pdp_pid"
gone=""
for _ in $(seq 1 100); do
	kill -0 "$pdp_pid" 2>/dev/null || { gone=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
	sleep 0.01
done
wait "$pdp_pid"; rc=$?
pdp_pid=""
wait "$l1" "$l2"
if [ -n "$gone" ] && [ "$gone" -lt 1000 ]; then ok "SIGTERM under traffic: gone in ${gone} ms"; else not_ok "SIGTERM under traffic: still running after 1 s"; fi
expect "SIGTERM: clean exit status" 0 "$rc"
expect "SIGTERM: invalid token never allowed" "" "$(grep -v '^401$' "$work/bad.out" | grep -v '^500$' | sort -u | tr '\n' ' ')"
expect "SIGTERM: valid token only allowed or 500" "" "$(grep -v '^200$' "$work/good.out" | grep -v '^500$' | sort -u | tr '\n' ' ')"
if grep -q '^200$' "$work/good.out" && grep -q '^500$' "$work/good.out"; then
	ok "SIGTERM: traffic was flowing before and refused after"
else
	not_ok "SIGTERM: traffic was flowing before and refused after" "$(sort "$work/good.out" | uniq -c)"
fi

# --- one transport ------------------------------------------------------------------
expect_match "the transport is the event loops" 'serving with [0-9]+ event loops?$' \
	"$(grep -m1 'serving with' "$work/pdp.log")"
# libfcgi's workers were removed (a peer could abort or stall them): a config asking for them
# is an error at its line, never a silent fallback.
cp "$work/pdp.yaml" "$work/pdp-libfcgi.yaml"
echo "transport: libfcgi" >>"$work/pdp-libfcgi.yaml"
expect_match "transport: libfcgi is refused at its line" \
	'pdp-libfcgi.yaml:[0-9]+:12: transport libfcgi was removed' \
	"$("$bin/pdp" check -c "$work/pdp-libfcgi.yaml" 2>&1 >/dev/null)"

# --- sanitizer and crash reports ------------------------------------------------
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation|Aborted' "$work/pdp.log"; then
	not_ok "no sanitizer or crash report in the PDP log" "$(grep -E -A5 'Sanitizer|runtime error' "$work/pdp.log" | head -30)"
else
	ok "no sanitizer or crash report in the PDP log"
fi

echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
