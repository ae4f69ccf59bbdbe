#!/usr/bin/env bash
# What a first run meets, through nginx with deploy/nginx's snippets and the repository's
# policies/: one WWW-Authenticate on every 401, a step-up to MFA that names its acr, and a
# demo that installs and builds only what it runs, then answers and stops.
# usage: test_first_run.sh BIN_DIR   (the build's pdp/ directory; the demo is built
# with the same build type and sanitizers, from a copy of the repository)
set -uo pipefail

bin=$(cd "${1:?usage: test_first_run.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/fixture.sh"
root=$(pdp_root)
mfa_acr=https://refeds.org/profile/mfa

fixture_start first-run
demo_pid=""
demo_dir=""
cleanup() {
	if [ -n "$demo_pid" ]; then
		kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
	fi
	if [ -n "$demo_dir" ]; then
		# Should the demo not have stopped its nginx and Redis, stop them here.
		pdp_stop_nginx "$demo_dir/run/demo"
		pdp_redis_down "$demo_dir/run/demo"
		rm -rf "$demo_dir"
	fi
	fixture_cleanup
}
trap cleanup EXIT

pdp_make_keys "$bin" "$work"
printf 'devices:\n  - { id: dev-9, compliant: true, trust: joined }\n' >"$work/context.yaml"
pdp_write_config "$work" "$sock" "store: { type: file, path: context.yaml }"
fixture_serve
fixture_nginx

iss=https://idp.example.com/
aud=https://apps.example.com
mint() { pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\"$1}"; }

# challenges HEADERS: the values of every WWW-Authenticate in HEADERS, one a line.
challenges() { tr -d '\r' <<<"$1" | grep -i '^WWW-Authenticate:' | sed 's/^[^:]*: //'; }
# expect_one_challenge NAME WANT HEADERS: exactly one WWW-Authenticate, and it is WANT.
expect_one_challenge() {
	local got
	got=$(challenges "$3")
	expect "$1: one WWW-Authenticate" 1 "$(grep -c . <<<"$got")" "$got"
	expect "$1: the PDP's challenge" "$2" "$(head -n 1 <<<"$got")"
}
location() { tr -d '\r' <<<"$1" | grep -i '^Location: ' | sed 's/^[^:]*: //'; }
status() { head -n 1 <<<"$1" | tr -d '\r'; }

# --- one WWW-Authenticate on every 401 --------------------------------------------------
hdrs=$(curl -s -D - -o /dev/null "$url/app")
expect "API client without a token: 401" "HTTP/1.1 401 Unauthorized" "$(status "$hdrs")"
expect_one_challenge "API client without a token" 'Bearer realm="pdp-demo"' "$hdrs"

hdrs=$(curl -s -D - -o /dev/null -H 'Authorization: Bearer not.a.token' "$url/app")
expect "API client with a bad token: 401" "HTTP/1.1 401 Unauthorized" "$(status "$hdrs")"
expect_one_challenge "API client with a bad token" \
	'Bearer realm="pdp-demo", error="invalid_token", error_description="malformed token"' "$hdrs"

# A browser whose sign-in the PDP cannot return to (a URL too long to carry in rd) gets
# the 401 too, with the same single challenge.
long=$(head -c 6500 /dev/zero | tr '\0' 'a')
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' "$url/$long")
expect "browser with no sign-in to send to: 401" "HTTP/1.1 401 Unauthorized" "$(status "$hdrs")"
expect_one_challenge "browser with no sign-in to send to" 'Bearer realm="pdp-demo"' "$hdrs"

# A browser sent to sign in: the redirect keeps the challenge auth_request copied, once.
hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' "$url/app")
expect "browser without a token: sent to sign in" "HTTP/1.1 302 Moved Temporarily" "$(status "$hdrs")"
expect_one_challenge "browser sent to sign in" 'Bearer realm="pdp-demo"' "$hdrs"

# --- the baseline's step-up to MFA names its acr ----------------------------------------
# From 127.0.0.1, outside the trusted networks: mfa-outside-trusted applies.
pwd_only=$(mint ',"sub":"bob@example.com","amr":["pwd"]')
hdrs=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $pwd_only" "$url/app")
expect "step-up to MFA: 401" "HTTP/1.1 401 Unauthorized" "$(status "$hdrs")"
expect_one_challenge "step-up to MFA" \
	"Bearer error=\"insufficient_user_authentication\", error_description=\"stronger authentication required\", acr_values=\"$mfa_acr\"" \
	"$hdrs"
expect_match "step-up to MFA: X-PDP-Decision says step-up" $'X-PDP-Decision: step-up\r' "$hdrs"

hdrs=$(curl -s -D - -o /dev/null -H 'Accept: text/html' -H "Authorization: Bearer $pwd_only" "$url/app?x=1")
expect "step-up to MFA in a browser: sent to sign in with the MFA acr" \
	"http://127.0.0.1:$port/signin?acr_values=https%3A%2F%2Frefeds.org%2Fprofile%2Fmfa&rd=http%3A%2F%2F127.0.0.1%3A$port%2Fapp%3Fx%3D1" \
	"$(location "$hdrs")"

with_acr=$(mint ",\"sub\":\"bob@example.com\",\"amr\":[\"pwd\"],\"acr\":\"$mfa_acr\"")
expect "a token whose acr is the MFA acr is allowed" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $with_acr" "$url/app")"

# A step-up for an old sign-in and one for phishing-resistant MFA: one challenge each.
stale=$(mint ',"sub":"grace@example.com","amr":["pwd","mfa"],"auth_time":-7200')
hdrs=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $stale" -H 'Host: api.example.com' "$url/payroll/run")
expect_one_challenge "step-up for an old sign-in" \
	'Bearer error="insufficient_user_authentication", error_description="sign-in too old", max_age=3600' "$hdrs"
admin=$(mint ',"sub":"alice@example.com","groups":["admins"],"amr":["pwd","mfa"],"deviceid":"dev-9","auth_time":-60')
hdrs=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $admin" -H 'Host: admin.example.com' "$url/users")
expect_one_challenge "step-up to phishing-resistant MFA" \
	'Bearer error="insufficient_user_authentication", error_description="stronger authentication required", acr_values="urn:example:acr:phr"' \
	"$hdrs"
expect_no_crash_report "$work/pdp.log"

# --- the demo installs and builds only what it runs ---------------------------------------
run_pkgs=$("$root/scripts/deps.sh" --list run)
test_pkgs=$("$root/scripts/deps.sh" --list test)
for p in clang libclang-rt-14-dev wrk gnuplot-nox libcmocka-dev libfcgi-dev jq; do
	expect "the demo does not install $p" "" "$(grep -x -- "$p" <<<"$run_pkgs")"
	expect "the tests install $p" "$p" "$(grep -x -- "$p" <<<"$test_pkgs")"
done
for p in nginx-light redis-server redis-tools curl libjwt-dev; do
	expect "the demo installs $p" "$p" "$(grep -x -- "$p" <<<"$run_pkgs")"
done
expect "the tests install everything the demo does" "" "$(comm -23 <(sort <<<"$run_pkgs") <(sort <<<"$test_pkgs"))"

# The demo in a copy of the repository, built like BIN_DIR's build (type and sanitizers).
cache=$bin/../CMakeCache.txt
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
sanitize=$(sed -n 's/^PDP_SANITIZE:BOOL=//p' "$cache")
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/pdp-demo-XXXXXX")
tar -C "$root" --exclude='./build*' --exclude=./run --exclude=./.git -cf - . | tar -C "$demo_dir" -xf -
demo_port=$(pdp_free_port)
PDP_DEMO_PORT=$demo_port PDP_DEMO_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=${build_type:-RelWithDebInfo} -DPDP_SANITIZE=${sanitize:-OFF}" \
	"$demo_dir/scripts/demo.sh" >"$work/demo.out" 2>&1 &
demo_pid=$!
# Its build takes a while on a busy machine: up to 10 minutes, while the demo lives.
for _ in $(seq 1 1200); do
	grep -q '^Press Ctrl-C to stop' "$work/demo.out" && break
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.5
done
if grep -q '^Press Ctrl-C to stop' "$work/demo.out"; then
	ok "the demo starts and says how to call it"
else
	not_ok "the demo starts and says how to call it" "$(tail -n 30 "$work/demo.out")"
fi

built=$(find "$demo_dir/build" -type f -perm -u+x ! -path '*/CMakeFiles/*' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
expect "the demo built the daemon and pdp-mint, no unit tests or load tools" "pdp pdp-mint " "$built"

demo_url=http://127.0.0.1:$demo_port
allow_call=$(grep -m 1 "curl -i -H 'Authorization: Bearer " "$work/demo.out")
demo_token=$(sed -n "s/.*Bearer \([^']*\)'.*/\1/p" <<<"$allow_call")
expect "the demo's first call is allowed" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $demo_token" "$demo_url/")"
hdrs=$(curl -s -D - -o /dev/null "$demo_url/")
expect "the demo without a token: 401" "HTTP/1.1 401 Unauthorized" "$(status "$hdrs")"
expect_one_challenge "the demo without a token" 'Bearer realm="pdp-demo"' "$hdrs"
# nginx asked the demo's PDP over its HTTP front, as deploy/ recommends, not over FastCGI.
demo_metrics=$(curl -s "$demo_url/pdp/metrics")
demo_http=$(pdp_metric 'pdp_connections_accepted_total{front="http"}' "$demo_metrics")
expect "the demo's nginx asks the PDP over HTTP" 1 "$([ "${demo_http:-0}" -ge 1 ] && echo 1 || echo 0)" "$demo_http"
expect "the demo's nginx asks nothing over FastCGI" 0 \
	"$(pdp_metric 'pdp_connections_accepted_total{front="fastcgi"}' "$demo_metrics")"

# The evidence commands it prints read the sample it asked for: the report-only HR trial
# would have denied the requests from devices the store does not know.
sample=$(sed -n 's/.*evidence: what the policies did (\([0-9]*\) sample requests.*/\1/p' "$work/demo.out")
report_cmd=$(grep -m 1 -E '^ +/.*/pdp report -c [^ ]+$' "$work/demo.out")
expect "the demo prints pdp report for its config" 1 "$([ -n "$report_cmd" ] && echo 1 || echo 0)"
# shellcheck disable=SC2086 # the command as the demo prints it
$report_cmd --json >"$work/demo-report.json" 2>"$work/demo-report.err"
expect "the demo's pdp report: exit 0" 0 "$?" "$(cat "$work/demo-report.err")"
expect "the demo's pdp report: every sample request, and the demo's own calls, in the log" 1 \
	"$(jq --argjson n "${sample:-0}" 'if $n > 0 and .totals.decisions >= $n then 1 else 0 end' "$work/demo-report.json")"
expect "the demo's pdp report: enforcing hr-compliant-device-trial would deny requests" 1 \
	"$(jq '[.report_only[] | select(.id == "hr-compliant-device-trial" and .state == "report-only"
		and .would.deny > 0 and .by_app[0].app == "hr")] | length' "$work/demo-report.json")"
coverage_cmd=$(grep -m 1 -E '^ +/.*/pdp coverage -c [^ ]+$' "$work/demo.out")
# shellcheck disable=SC2086 # the command as the demo prints it
coverage_out=$($coverage_cmd 2>&1)
expect "the demo's pdp coverage: exit 0 and the set's stage" "0 1" \
	"$? $(grep -c '^\*\*Overall stage: ' <<<"$coverage_out")" "$coverage_out"

# SIGTERM stops it, with its PDP, nginx and Redis.
redis_pid=$(cat "$demo_dir/run/demo/redis.pid" 2>/dev/null)
kill "$demo_pid" 2>/dev/null
stopped=0
for _ in $(seq 1 100); do
	kill -0 "$demo_pid" 2>/dev/null || { stopped=1; break; }
	sleep 0.1
done
wait "$demo_pid" 2>/dev/null
demo_pid=""
expect "SIGTERM stops the demo" 1 "$stopped"
expect "the demo's nginx stopped with it" 000 \
	"$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$demo_url/")"
# Gone, or exited and not yet reaped by whoever adopted the daemon.
redis_gone=0
if [ -n "$redis_pid" ] && { ! kill -0 "$redis_pid" 2>/dev/null ||
	[[ $(ps -o stat= -p "$redis_pid" 2>/dev/null) == Z* ]]; }; then
	redis_gone=1
fi
expect "the demo's Redis stopped with it" 1 "$redis_gone"
# The demo's output holds its PDP's log.
expect_no_crash_report "$work/demo.out"

echo "first run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
