#!/usr/bin/env bash
# End-to-end: what the PDP judged is what the upstream gets, through the real nginx with
# deploy/nginx's snippets and the repository's policies/: identity claims nginx would
# strip, methods beyond the common seven, path forms upstreams read differently, and
# method-override headers.
# usage: test_matching.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_matching.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/fixture.sh"

fixture_start match

# nginx with the deploy/ snippets in front of an app that echoes what reached it.
write_nginx() { # PORT APP_PORT
	cp "$(pdp_root)"/deploy/nginx/{pdp_params,pdp-auth.conf,pdp-auth-answer.conf,pdp-upstream-headers.conf} "$work/"
	sed "s#unix:/run/pdp/pdp.sock#unix:$sock#" "$(pdp_root)/deploy/nginx/pdp-http.conf" >"$work/pdp-http.conf"
	cat >"$work/nginx.conf" <<NGINX
$(pdp_nginx_head "$work")

    server {
        listen 127.0.0.1:$1;
        set \$pdp_signin_url http://127.0.0.1:$1/signin;
        include pdp-auth.conf;

        location / {
            include pdp-upstream-headers.conf;
            proxy_pass http://127.0.0.1:$2;
        }
    }

    server {
        listen 127.0.0.1:$2;
        location / {
            return 200 "method=\$request_method user=\$http_x_pdp_user groups=\$http_x_pdp_groups override=[\$http_x_http_method_override|\$http_x_http_method|\$http_x_method_override]\n";
        }
    }
}
NGINX
}

pdp_make_keys "$bin" "$work"
printf 'users:\n  - { id: mallory@example.com, disabled: true }\n' >"$work/context.yaml"
pdp_write_config "$work" "$sock" "store: { type: file, path: context.yaml }"
# An IIS-like upstream: its app declares paths case-insensitive, and a policy blocks it.
cat >"$work/policies/50-iis.yaml" <<'YAML'
apps:
  - id: iis-payroll
    hosts: [iis.example.com]
    paths: [/Payroll/]
    case_insensitive: true
policies:
  - id: iis-payroll-closed
    users: { include: all }
    apps: { include: [iis-payroll] }
    grant: block
YAML
check_out=$("$bin/pdp" check -c "$work/pdp.yaml" "$work/policies" 2>&1) || { echo "pdp check failed: $check_out"; exit 1; }
expect "pdp check: the repository's policies leave no method to a weaker app" "" \
	"$(grep -i warning <<<"$check_out")"
# An app that lists its writes leaves WebDAV and custom methods to a weaker app: a warning.
mkdir "$work/listed"
cp "$work/policies/"*.yaml "$work/listed/"
sed -i 's/methods: { except: \[GET, HEAD, OPTIONS\] }/methods: [POST, PUT, PATCH, DELETE]/' "$work/listed/00-apps.yaml"
check_out=$("$bin/pdp" check "$work/listed" 2>&1)
expect "pdp check: a method list that lets methods fall through is a warning, exit 0" 0 "$?"
expect_match "pdp check: the warning names file:line:col, the app and where methods go" \
	'/listed/00-apps.yaml:[0-9]+:[0-9]+: warning: app "payroll-write" lists its methods: [A-Z]+ on api.example.com/payroll/ falls through to no app' \
	"$check_out"
"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
pdp_pid=$!
pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
port=""
for _ in 1 2 3 4 5; do
	port=$(pdp_free_port) app_port=$(pdp_free_port)
	write_nginx "$port" "$app_port"
	pdp_start_nginx "$work" 2>>"$work/nginx-start.log" && break
	port=""
done
[ -n "$port" ] || { echo "nginx did not start"; cat "$work/nginx-start.log"; exit 1; }
url=http://127.0.0.1:$port

iss=https://idp.example.com/
aud=https://apps.example.com
# token SUB_JSON [more claims]: sub is JSON text, so it can carry \u escapes.
token() { pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":$1,\"amr\":[\"pwd\",\"mfa\"]${2:-}}"; }
# req TOKEN [curl args]: status line and headers, then the body nginx answers.
req() {
	local tok=$1; shift
	curl -s -i --path-as-is -H "Authorization: Bearer $tok" "$@"
}
code() { head -1 <<<"$1" | awk '{print $2}'; }

# --- identity claims nginx would strip: the token is invalid, never rewritten --------
out=$(req "$(token '"mallory@example.com"')" "$url/app")
expect "disabled mallory is denied" 403 "$(code "$out")"
for sub in '"mallory@example.com\u0001"' '" mallory@example.com"' '"mallory@example.com\t"' \
	'"mallory@example.com "' '"mallory@example.com\u007f"' '"mallory@example.com\u0085"' \
	'"mallory@example.com\u00a0"' '"\ufeffmallory@example.com"' '"mallory@example.com\u2028"' \
	'"\u3000mallory@example.com"' '"mal\u200blory@example.com"' '"mallory\u202e@example.com"'; do
	out=$(req "$(token "$sub")" "$url/app")
	expect "sub $sub: 401" 401 "$(code "$out")"
	expect_match "sub $sub: invalid claims" \
		'WWW-Authenticate: Bearer realm="pdp-demo", error="invalid_token", error_description="invalid claims"' "$out"
	expect "sub $sub: the upstream never sees it" "" "$(grep 'user=' <<<"$out")"
done
admin_hdr=(-H "Host: admin.example.com")
out=$(req "$(token '"eve@example.com"' ',"groups":["admins"]')" "${admin_hdr[@]}" "$url/users")
expect "an admin without a security key on a compliant device is denied" 403 "$(code "$out")"
for groups in '["adm\u0007ins"]' '["eng"," admins"]' '["admins\t"]' '["admins\u00a0"]' \
	'["ad\u200dmins"]'; do
	out=$(req "$(token '"eve@example.com"' ",\"groups\":$groups")" "${admin_hdr[@]}" "$url/users")
	expect "groups $groups: 401 invalid claims, not an admin who skipped the admin policy" 401 \
		"$(code "$out")"
	expect_match "groups $groups: invalid claims" 'error_description="invalid claims"' "$out"
done
for claim in ',"roles":["Ad\u0001min"]' ',"roles":["Admin\u001b"]' ',"deviceid":"dev-9 "' ',"jti":"\u0085j1"'; do
	out=$(req "$(token '"eve@example.com"' "$claim")" "$url/app")
	expect "claim $claim: 401" 401 "$(code "$out")"
	expect_match "claim $claim: invalid claims" 'error_description="invalid claims"' "$out"
done
out=$(req "$(token '"eve@example.com"' ',"groups":["Sales, EMEA","eng"]')" "$url/app")
expect "a group with a comma is kept, percent-encoded in the comma list" \
	"method=GET user=eve@example.com groups=Sales%2C EMEA,eng override=[||]" "$(tail -1 <<<"$out")"

# --- methods: every write method on /payroll/ is a payroll change -------------------
stale=$(token '"grace@example.com"' ",\"auth_time\":$(($(date +%s) - 7200))")
api=(-H "Host: api.example.com")
out=$(req "$stale" "${api[@]}" -X POST "$url/payroll/run")
expect_match "POST on /payroll/run with a 2-hour-old sign-in: step-up" 'max_age=3600' "$out"
for m in PROPPATCH MKCOL MOVE COPY LOCK UNLOCK PURGE SEARCH X-RERUN DELETE; do
	out=$(req "$stale" "${api[@]}" -X "$m" "$url/payroll/run")
	expect "$m on /payroll/run gets what POST gets (401 step-up), never 200" 401 "$(code "$out")"
	expect_match "$m on /payroll/run: asks max_age=3600" 'max_age=3600' "$out"
done
for m in GET OPTIONS; do
	out=$(req "$stale" "${api[@]}" -X "$m" "$url/payroll/run")
	expect "$m on /payroll/run is a read: allowed" 200 "$(code "$out")"
done

# --- path forms the upstream may read as the payroll path -----------------------------
for path in '/payroll;a=b/run' '/payroll' '/payroll;jsessionid=x' '/payroll%3Bx/run' '/payroll?q=1'; do
	out=$(req "$stale" "${api[@]}" -X POST "$url$path")
	expect "POST $path maps to the payroll app: step-up" 401 "$(code "$out")"
	expect_match "POST $path: asks max_age=3600" 'max_age=3600' "$out"
done
out=$(req "$stale" "${api[@]}" -X POST "$url/payroll/..;/x")
expect "POST /payroll/..;/x (a dot segment to Tomcat only): denied" 403 "$(code "$out")"
# '\' is '/' to Node, Deno and Bun (WHATWG URL) and a name byte to nginx; '#' is sent by no
# client, and nginx passes both on in the request URI: refused, on every host.
for target in '/x\..\payroll/run' '/payroll\run' '/payroll%5Crun' '/x%5c..%5cpayroll/run' \
	'/x#/../payroll/run' '/app#x'; do
	out=$(req "$stale" "${api[@]}" -X POST --request-target "$target" "$url/")
	expect "POST $target on a case-sensitive upstream: 403, not 200" 403 "$(code "$out")"
	expect "POST $target: the upstream never sees it" "" "$(grep 'method=' <<<"$out")"
done
out=$(req "$stale" "${api[@]}" -X POST --request-target '/app?a=%5C#b' "$url/")
expect "'\' and '#' in the query are the query's: allowed" 200 "$(code "$out")"
iis=(-H "Host: iis.example.com")
for path in '/PAYROLL/run' '/payroll./run' '/Payroll.%20/run' '/PayRoll'; do
	out=$(req "$stale" "${iis[@]}" "$url$path")
	expect "GET $path on the case-insensitive upstream maps to its payroll app: blocked" 403 \
		"$(code "$out")"
done
# Names a Windows upstream reads as another file's: NTFS streams, 8.3 short names.
for path in '/payroll::$INDEX_ALLOCATION/run' '/payroll:$i30:$INDEX_ALLOCATION/run' \
	'/PAYROL~1/run' '/payroll%5Crun' '/x/%C5%BFecret'; do
	out=$(req "$stale" "${iis[@]}" "$url$path")
	expect "GET $path on the case-insensitive upstream: refused" 403 "$(code "$out")"
	expect "GET $path: the upstream never sees it" "" "$(grep 'method=' <<<"$out")"
done
out=$(req "$stale" "${iis[@]}" "$url/other")
expect "the case-insensitive upstream's other paths are not its payroll app" 200 "$(code "$out")"
out=$(req "$stale" "${api[@]}" "$url/files/a:b/PAYROL~1")
expect "streams and short names are refused on case-insensitive hosts only" 200 "$(code "$out")"

# A host whose apps disagree on case would let /PAYROLL/ADMIN/ reach a stricter
# case-sensitive app's path through a case-insensitive app's prefix: a load error.
mkdir "$work/mixed"
cat >"$work/mixed/apps.yaml" <<'YAML'
apps:
  - { id: strong, hosts: [h.example.com], paths: [/payroll/admin/] }
  - { id: mid, hosts: [h.example.com], paths: [/payroll/], case_insensitive: true }
  - { id: weak, hosts: [h.example.com] }
YAML
check_out=$("$bin/pdp" check "$work/mixed" 2>&1)
expect "pdp check: apps of one host that disagree on case_insensitive fail the check" 1 "$?"
expect_match "pdp check: the error names file:line:col and both apps" \
	'/mixed/apps.yaml:3:5: app "mid" is case_insensitive on h.example.com but app "strong" \([^)]*/mixed/apps.yaml:2:5\) is not' \
	"$check_out"

# --- method overrides never reach the upstream ----------------------------------------
good=$(token '"alice@example.com"')
out=$(req "$good" -H "X-HTTP-Method-Override: DELETE" -H "X-HTTP-Method: PUT" \
	-H "X-Method-Override: PATCH" "$url/app")
expect "method-override headers are dropped before the upstream" \
	"method=GET user=alice@example.com groups= override=[||]" "$(tail -1 <<<"$out")"

expect_no_crash_report "$work/pdp.log"

echo "matching: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
