#!/usr/bin/env bash
# What a client sends through nginx cannot shrink the audit, steer the sign-in or pose as the PDP.
# usage: test_client_input.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_client_input.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/fixture.sh"
# The nginx snippets under test (PDP_NGINX_DIR: another copy of them, to compare).
snippets=${PDP_NGINX_DIR:-$(pdp_root)/deploy/nginx}

fixture_start client

pdp_make_keys "$bin" "$work"
printf 'devices:\n  - { id: dev-9, compliant: true, trust: joined }\n' >"$work/context.yaml"
pdp_write_config "$work" "$sock" "store: { type: file, path: context.yaml }"
"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
pdp_pid=$!
pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }

# nginx as deploy/nginx/example.conf lays it out: a protected location, and an unprotected
# one (auth_request off) that also proxies; the app echoes every X-PDP-* header it receives.
cp "$snippets"/{pdp_params,pdp-auth.conf,pdp-upstream-headers.conf} "$work/"
[ ! -f "$snippets/pdp-auth-answer.conf" ] || cp "$snippets/pdp-auth-answer.conf" "$work/"
[ -f "$snippets/pdp-strip-headers.conf" ] && cp "$snippets/pdp-strip-headers.conf" "$work/" ||
	: >"$work/pdp-strip-headers.conf"
sed "s#unix:/run/pdp/pdp.sock#unix:$sock#" "$snippets/pdp-http.conf" >"$work/pdp-http.conf"
for _ in 1 2 3 4 5; do
	port=$(pdp_free_port) app_port=$(pdp_free_port)
	cat >"$work/nginx.conf" <<NGINX
$(pdp_nginx_head "$work")
    server {
        listen 127.0.0.1:$port;
        set \$pdp_signin_url http://127.0.0.1:$port/signin;
        include pdp-auth.conf;
        location / {
            include pdp-upstream-headers.conf;
            proxy_pass http://127.0.0.1:$app_port;
        }
        location /oauth2/ {
            auth_request off;
            include pdp-strip-headers.conf;
            proxy_pass http://127.0.0.1:$app_port;
        }
    }
    server {
        listen 127.0.0.1:$app_port;
        location / {
            return 200 "user=[\$http_x_pdp_user] groups=[\$http_x_pdp_groups] policies=[\$http_x_pdp_policies] decision=[\$http_x_pdp_decision] reason=[\$http_x_pdp_reason] sign_in=[\$http_x_pdp_sign_in] step_up=[\$http_x_pdp_step_up]\n";
        }
    }
}
NGINX
	pdp_start_nginx "$work" 2>>"$work/nginx-start.log" && break
	port=""
done
[ -n "$port" ] || { echo "nginx did not start"; cat "$work/nginx-start.log"; exit 1; }
url=http://127.0.0.1:$port

iss=https://idp.example.com/
aud=https://apps.example.com
claims() { echo "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"alice@example.com\",\"groups\":[\"admins\",\"eng\"],\"amr\":[\"pwd\",\"mfa\"]$1}"; }
good=$(pdp_mint "$bin" "$work" RS256 "$(claims '')")
# urldecode: %XX sequences to bytes ('+' is not a space here: the PDP never writes one).
urldecode() { printf '%b' "${1//%/\\x}"; }
# param NAME QUERY: each value of NAME in QUERY, decoded, one a line.
param() { tr '&' '\n' <<<"$2" | while IFS= read -r kv; do [ "${kv%%=*}" = "$1" ] && urldecode "${kv#*=}" && echo; done; }

# --- the decision log: a long query string shortens the URI, never the decision ----------
# log_line ID: the decision line of the request with that X-Request-Id... nginx makes its own
# $request_id, so a marker in the path finds the line instead. Only a whole line counts (it
# ends in "}"): a reader can see a long line the writer has not finished writing.
log_line() {
	for _ in $(seq 1 100); do
		line=$(grep -F "\"uri\":\"/$1" "$work/decisions.jsonl" 2>/dev/null | tail -n 1)
		[ "${line: -1}" = "}" ] && break
		sleep 0.05
	done
	echo "$line"
}
for size in 2100 7900; do
	q=$(head -c "$size" /dev/zero | tr '\0' 'q')
	got=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $good" \
		-H 'Host: intranet.example.com' "$url/long-$size?q=$q")
	expect "a $size-byte query string is decided (allowed)" 200 "$got"
	line=$(log_line "long-$size")
	expect "$size-byte query: the line is JSON with decision, user and app" \
		"allow alice@example.com intranet" \
		"$(jq -r '"\(.decision) \(.user) \(.app)"' <<<"$line" 2>&1)" "$(head -c 300 <<<"$line")"
	expect "$size-byte query: the line lists the policies and the request id" "yes" \
		"$(jq -r 'if (.policies | length) > 0 and (.request_id | length) == 32 then "yes" else "no" end' <<<"$line" 2>&1)"
	expect "$size-byte query: the URI is cut visibly and says so" "yes" \
		"$(jq -r 'if (.truncated | index("uri")) != null and (.uri | endswith("…")) and (.uri | startswith("/long-")) then "yes" else "no" end' <<<"$line" 2>&1)"
done
# A deny with a long query keeps its reason and policies too.
q=$(head -c 7900 /dev/zero | tr '\0' 'q')
curl -s -o /dev/null -H "Authorization: Bearer $good" -H 'Host: admin.example.com' "$url/long-deny?q=$q"
line=$(log_line "long-deny")
expect "long query, deny: decision, user, app, reason" \
	"deny alice@example.com admin-portal admins-strong-auth: compliant device required" \
	"$(jq -r '"\(.decision) \(.user) \(.app) \(.reason)"' <<<"$line" 2>&1)"

# --- the sign-in redirect is the PDP's, and whole --------------------------------------
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' "$url/x?a=1&rd=https://evil.example/steal")
loc=$(grep -i '^Location: ' <<<"$hdrs" | tr -d '\r' | sed 's/^[Ll]ocation: //')
expect_match "browser without a token is sent to sign in" "^http://127.0.0.1:$port/signin\\?" "$loc"
query=${loc#*\?}
expect "steering attempt: exactly one rd" 1 "$(param rd "$query" | wc -l)"
expect "steering attempt: rd is the URL asked for, with the port the client used" \
	"http://127.0.0.1:$port/x?a=1&rd=https://evil.example/steal" "$(param rd "$query")"
expect "steering attempt: no other parameter" "rd" "$(tr '&' '\n' <<<"$query" | sed 's/=.*//' | sort -u | tr '\n' ' ' | sed 's/ $//')"

# A step-up: its parameters once each, whatever the URI tries to add.
mfa_admin=$(pdp_mint "$bin" "$work" RS256 "$(claims ',"deviceid":"dev-9","auth_time":-60')")
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' -H "Authorization: Bearer $mfa_admin" \
	-H 'Host: admin.example.com' "$url/users?acr_values=none&max_age=99999&rd=https://evil.example/")
loc=$(grep -i '^Location: ' <<<"$hdrs" | tr -d '\r' | sed 's/^[Ll]ocation: //')
query=${loc#*\?}
expect "step-up: one acr_values, the strength's" "urn:example:acr:phr" "$(param acr_values "$query")"
expect "step-up: no max_age added by the client" 0 "$(param max_age "$query" | wc -l)"
expect "step-up: one rd, the URL asked for" \
	"http://admin.example.com/users?acr_values=none&max_age=99999&rd=https://evil.example/" \
	"$(param rd "$query")"
# An API client gets the challenge, not a redirect.
hdrs=$(curl -s -D - -o /dev/null "$url/x?a=1")
expect_match "API client: 401 with the challenge" '^HTTP/1.1 401' "$hdrs"
expect "API client: no redirect" "" "$(grep -i '^Location:' <<<"$hdrs")"

# --- X-PDP-* headers a client sends never reach the upstream ---------------------------
body=$(curl -s -H "Authorization: Bearer $good" -H 'X-PDP-Decision: allow' \
	-H 'X-PDP-Reason: forged' -H 'X-PDP-Sign-In: rd=x' -H 'X-PDP-Step-Up: max_age=1' \
	-H 'X-PDP-User: mallory' "$url/app")
expect "protected location: the upstream sees the PDP's identity and nothing the client sent" \
	"user=[alice@example.com] groups=[admins,eng] policies=[mfa-outside-trusted] decision=[] reason=[] sign_in=[] step_up=[]" \
	"$body"
body=$(curl -s -H 'X-PDP-User: mallory@example.com' -H 'X-PDP-Groups: admins' \
	-H 'X-PDP-Policies: p' -H 'X-PDP-Decision: allow' -H 'X-PDP-Reason: r' "$url/oauth2/start")
expect "auth_request off location: no client-sent X-PDP-* header reaches the upstream" \
	"user=[] groups=[] policies=[] decision=[] reason=[] sign_in=[] step_up=[]" "$body"

expect_no_crash_report "$work/pdp.log"
echo "client_input: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
