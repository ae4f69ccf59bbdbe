#!/usr/bin/env bash
# Health through the real nginx and deploy/nginx/pdp-admin.conf: /pdp/health names the policy
# revision serving and how the last reload of the policies and of the store's file went
# (result, time, the file:line:col error, escaped), and stays "ok" while the last good set
# serves after a failed or refused reload.
# usage: test_health.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_health.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-health-XXXXXX")
sock=$work/pdp.sock
pdp_pid=""

cleanup() {
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$work"
	rm -rf "$work"
}
trap cleanup EXIT

pdp_make_keys "$bin" "$work"
printf 'revoked_jtis: [j-rev-1]\n' >"$work/context.yaml"
pdp_write_config "$work" "$sock" "store: { type: file, path: context.yaml }
reload: { settle: 200ms, max_drop: 50% }
pid_file: pdp.pid"
"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
pdp_pid=$!
pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
read -r port _ < <(pdp_nginx_up "$work" "$sock") || { echo "nginx did not start"; exit 1; }
[ -n "$port" ] || { echo "nginx did not start"; exit 1; }
url=http://127.0.0.1:$port

health_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$url/pdp/health"; }
health() { curl -s -m 5 "$url/pdp/health"; }
# field JQ_PATH: one field of health's JSON (jq -e fails on JSON that does not parse).
field() { health | jq -er "$1"; }
revision_of_dir() { "$bin/pdp" check "$work/policies" | sed -n 's/.*revision \([0-9a-f]*\)).*/\1/p'; }
# after_change PATTERN COMMAND...: runs the change, then waits up to 15 s for the log line it
# should cause.
after_change() { pdp_after_change "$work/pdp.log" "$@" || echo "no new log line /$1/"; }
put_policy() { # NAME TEXT: written beside and renamed into the policy directory
	printf '%s' "$2" >"$work/.policy.tmp" && mv "$work/.policy.tmp" "$work/policies/$1"
}
put_context() { printf '%s' "$1" >"$work/.context.tmp" && mv "$work/.context.tmp" "$work/context.yaml"; }
baseline=$(cat "$work/policies/30-baseline.yaml")

rev0=$(revision_of_dir)
expect "health answers 200" 200 "$(health_status)"
expect "health is valid JSON" ok "$(health | jq -e . >/dev/null && echo ok)"
expect "health names the revision serving" "$rev0" "$(field .policy_revision)"
expect "before any reload: none" none "$(field .last_policy_reload.result)"
expect "before any store reload: none" none "$(field .last_store_reload.result)"

# --- a policy file with a syntax error ----------------------------------------------------
after_change 'policy reload failed' put_policy 30-baseline.yaml "$baseline
  - id: [broken
"
expect "a failed reload: health still answers 200" 200 "$(health_status)"
expect "a failed reload: status stays ok (the last good set serves)" ok "$(field .status)"
expect "a failed reload: the same revision serves" "$rev0" "$(field .policy_revision)"
expect "a failed reload: health says so" failed "$(field .last_policy_reload.result)"
expect_match "a failed reload: health gives the file:line:col error" \
	"^$work/policies/30-baseline\.yaml:[0-9]+:[0-9]+: .+" "$(field .last_policy_reload.error)"
expect_match "a failed reload: and when, in UTC" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' "$(field .last_policy_reload.at)"
logged=$(grep 'policy reload failed' "$work/pdp.log" | tail -1 | sed 's/.*keeps serving: //')
expect "the error is the one the log gives" "$logged" "$(field .last_policy_reload.error)"

# --- fixed, as a new revision -------------------------------------------------------------
after_change 'policies reloaded' put_policy 30-baseline.yaml "$baseline
# reviewed
"
rev1=$(revision_of_dir)
expect "the fix is a new revision" yes "$([ -n "$rev1" ] && [ "$rev1" != "$rev0" ] && echo yes)"
expect "fixed: health names the new revision" "$rev1" "$(field .policy_revision)"
expect "fixed: the last reload is ok" ok "$(field .last_policy_reload.result)"
expect "fixed: no error" null "$(health | jq -c .last_policy_reload.error)"
expect "fixed: status ok" ok "$(field .status)"

# --- an error naming a file with a quote, a backslash and a tab: escaped, still JSON ------
odd=$'60-a"b\\c\td.yaml'
after_change 'policy reload failed' put_policy "$odd" $'policies:\n  - id: [x\n'
expect "an odd file name: health is still valid JSON" ok "$(health | jq -e . >/dev/null && echo ok)"
expect "an odd file name: the error names it exactly" \
	"$work/policies/$odd:3:1: did not find expected ',' or ']' while parsing a flow sequence" \
	"$(field .last_policy_reload.error)"
expect "an odd file name: no raw tab or line break in the answer" 0 "$(health | tr -cd '\t\n' | wc -c)"
after_change 'policies reloaded' rm "$work/policies/$odd"
expect "the odd file gone: ok again" ok "$(field .last_policy_reload.result)"

# --- a reload the drop guard refuses ------------------------------------------------------
after_change 'policy reload refused' rm "$work/policies/30-baseline.yaml"
expect "a refused reload: health says so" refused "$(field .last_policy_reload.result)"
expect_match "a refused reload: and why" 'would drop [0-9]+ of [0-9]+ enforced policies' \
	"$(field .last_policy_reload.error)"
expect "a refused reload: status stays ok" ok "$(field .status)"
expect "a refused reload: the same revision serves" "$rev1" "$(field .policy_revision)"
after_change 'policies reloaded' put_policy 30-baseline.yaml "$baseline
"

# --- the store's file ---------------------------------------------------------------------
after_change 'context store reload failed' put_context $'revoked_jtis: [j-rev-1\n'
expect "a failed store reload: status stays ok" ok "$(field .status)"
expect "a failed store reload: health says so" failed "$(field .last_store_reload.result)"
expect_match "a failed store reload: with the file:line:col error" \
	"^$work/context\.yaml:[0-9]+:[0-9]+: .+" "$(field .last_store_reload.error)"
expect "a failed store reload: the policies' record is untouched" ok "$(field .last_policy_reload.result)"
after_change 'context store reloaded' put_context $'revoked_jtis: [j-rev-1, j-rev-2]\n'
expect "the store's file fixed: ok" ok "$(field .last_store_reload.result)"

expect_no_crash_report "$work/pdp.log"
echo "passed: $passed, failed: $failed"
[ "$failed" -eq 0 ]
