#!/usr/bin/env bash
# pdp report: known answers on fixed logs (tests/report/), gzip and stdin, the
# window, states from -c, malformed and long lines, exit codes, and a log
# written by a real PDP behind nginx.
# usage: test_report.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_report.sh BIN_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/lib.sh"
. "$root/tests/integration/assert.sh"
. "$root/tests/integration/fixture.sh"
fixture_start report
logs=$root/tests/report
pdp() { "$bin/pdp" "$@"; }
# j JSON FILTER: one value from a report document.
j() { jq -r "$2" <<<"$1"; }

# --- known answers ------------------------------------------------------------
doc=$(pdp report --json "$logs/decisions.jsonl")
expect "format" "pdp-report/1" "$(j "$doc" .format)"
expect "decisions by result" "16 6 5 2 2 1" \
	"$(j "$doc" '.totals | "\(.decisions) \(.by_decision.allow) \(.by_decision.deny) \(.by_decision["step-up"]) \(.by_decision.unauthenticated) \(.by_decision.error)"')"
expect "distinct users and devices" "7 4" "$(j "$doc" '.totals | "\(.users_distinct) \(.devices_distinct)"')"
expect "per policy: applied, denied, stepped up, users affected" \
	"admins-strong-auth 3 2 1 2,mfa-outside-trusted 2 0 0 0,block-embargoed 1 1 0 1,payroll-write-frequency 1 0 1 1" \
	"$(j "$doc" '[.policies[] | "\(.id) \(.applied) \(.denied) \(.stepped_up) \(.users_affected_distinct)"] | join(",")')"
expect "report-only impact: would deny, its users, by app, examples" \
	"hr-compliant-device-trial 5 3 0 2 hr:3 r04,r05,r06" \
	"$(j "$doc" '.report_only[] | "\(.id) \(.evaluated) \(.would.deny) \(.would["step-up"]) \(.users_distinct.deny) \([.by_app[] | "\(.app):\(.deny)"] | join(",")) \(.examples | join(","))"')"
expect "per app" "hr 5,admin-portal 3,intranet 2,payroll-write 1" \
	"$(j "$doc" '[.apps[] | "\(.app) \(.decisions)"] | join(",")')"
expect "top deny reasons, by count" "admins-strong-auth: compliant device required=2,context store unavailable=2,block-embargoed: blocked=1" \
	"$(j "$doc" '[.top_deny_reasons[] | "\(.reason)=\(.count)"] | join(",")')"
expect "incidents: store outage, keys, stale store" \
	"store-unavailable 2026-11-23T09:00:00.000Z 2026-11-23T09:00:20.000Z 2,keys-unavailable 2026-11-23T09:00:40.000Z 2026-11-23T09:00:40.000Z 1,store-stale 2026-11-23T09:10:00.000Z 2026-11-23T09:10:00.000Z 1" \
	"$(j "$doc" '[.incidents[] | "\(.kind) \(.start) \(.end) \(.decisions)"] | join(",")')"
expect "latency: max exact, p50 within a bucket" "20000 true" \
	"$(j "$doc" '.latency_us | "\(.max) \(.p50 >= 110 and .p50 <= 114)"')"
expect "timeline sums to the decisions" "16" \
	"$(j "$doc" '[.timeline.buckets[] | .allow + .deny + .["step-up"] + .unauthenticated + .error] | add')"
expect "window: first and last decision" "2026-11-23T08:00:00.100Z 2026-11-23T09:45:00.000Z null" \
	"$(j "$doc" '.window | "\(.first) \(.last) \(.since)"')"
expect "no state without -c" "null" "$(j "$doc" '[.policies[].state] | unique | .[0]')"
expect "--top 1" "1" "$(pdp report --json --top 1 "$logs/decisions.jsonl" | jq '.top_deny_reasons | length')"

md=$(pdp report "$logs/decisions.jsonl")
expect_match "Markdown opens with what enforcing would change" \
	'^# PDP decision report.*## What enforcing the report-only policies would change.*\| hr-compliant-device-trial \| 5 \| 3 \| 2 \| 0 \| 0 \| hr \(3 deny, 0 step-up\) \| `r04`, `r05`, `r06` \|.*## Decisions' \
	"${md//$'\n'/ }"

printf '{"time":"2026-11-23T08:00:00Z","decision":"deny","reason":"p: a | b\\n# c <img src=x> [l](http://e)"}\n' >"$work/hostile.jsonl"
md=$(pdp report "$work/hostile.jsonl")
expect_match "Markdown escapes a reason's markup: no forged cell, heading, tag or link" \
	'^\| p: a \\\| b \\# c \\<img src=x\\> \\\[l\\\]\(http\\://e\) \| 1 \| 0 \|$' "$md"

# Bare URLs are not left for a renderer to link, 8-bit controls and bidirectional overrides
# are shown as U+FFFD, and example request ids are code spans to copy as they are.
printf '%s\n' '{"time":"2026-11-23T08:00:00Z","request_id":"req_1|`x`","decision":"allow","user":"u","app":"hr","report_only":[{"id":"t","would":"deny","reason":"r"}],"reason":"x"}' \
	'{"time":"2026-11-23T08:00:01Z","decision":"deny","reason":"see https://evil.example/login or www.evil.example \u009b31m \u202eexe.txt"}' \
	>"$work/hostile2.jsonl"
md=$(pdp report "$work/hostile2.jsonl")
expect_match "Markdown: example request ids in a code span, as they are, a pipe escaped" \
	'^\| t \| 1 \| 1 \| 1 \| 0 \| 0 \| hr \(1 deny, 0 step-up\) \| `` req_1\\\|`x` `` \|$' "$md"
expect_match "Markdown: no bare URL, no C1 control, no bidirectional override" \
	'^\| see https\\://evil\.example/login or www\\\.evil\.example �31m �exe\.txt \| 1 \| 0 \|$' "$md"

expect "no latency in the log: the same members, count 0" "0 0" \
	"$(pdp report --json "$work/hostile.jsonl" | jq -r '.latency_us | "\(.count) \(.p99)"')"

# --- inputs: rotated, gzip (by magic, whatever the name), stdin ------------------
cp "$logs/decisions.jsonl" "$work/decisions.jsonl.1"
gzip -c "$logs/decisions.jsonl" >"$work/decisions.jsonl.2"
doc=$(pdp report --json "$work/decisions.jsonl.2" "$work/decisions.jsonl.1" - <"$logs/decisions.jsonl")
expect "gzip, rotated and stdin read as three inputs" \
	"decisions.jsonl.2:16 decisions.jsonl.1:16 stdin:16 48" \
	"$(j "$doc" '[.inputs[] | "\(.name | split("/") | last):\(.decisions)"] + [.totals.decisions | tostring] | join(" ")')"
expect "the same answers from three copies: counts add, distinct users do not, 5 examples" \
	"15 9 2 5" "$(j "$doc" '.report_only[0] | "\(.evaluated) \(.would.deny) \(.users_distinct.deny) \(.examples | length)"')"
expect "distinct users stay distinct across inputs" "7" "$(j "$doc" .totals.users_distinct)"

# --- the window ----------------------------------------------------------------
doc=$(pdp report --json --since 2026-11-23T09:00:00Z "$logs/decisions.jsonl")
expect "--since" "6 10 2026-11-23T09:00:00.000Z" \
	"$(j "$doc" '"\(.totals.decisions) \(.inputs[0].outside_window) \(.window.since)"')"
doc=$(pdp report --json --until 2026-11-23T09:05:00+01:00 "$logs/decisions.jsonl")
expect "--until with an offset, the bound itself outside" "8 2026-11-23T08:05:00.000Z" \
	"$(j "$doc" '"\(.totals.decisions) \(.window.until)"')"
expect "relative --since: the last 7 days hold none of these, the last 100,000 days all" "0 16" \
	"$(pdp report --json --since 7d "$logs/decisions.jsonl" | jq .totals.decisions) $(pdp report --json --since 100000d "$logs/decisions.jsonl" | jq .totals.decisions)"

# --- malformed, truncated and long lines ------------------------------------------
cp "$logs/malformed.jsonl" "$work/malformed.jsonl"
{ printf '{"time":"2026-11-23T10:00:05Z","decision":"allow","uri":"'; head -c 9000 /dev/zero | tr '\0' a; printf '"}\n'; \
	printf '{"time":"2026-11-23T10:00:06Z","decision":"allow","user":"carol@example.com"}\n'; \
	printf '{"time":"2026-11-23T10:00:07Z","decision":"deny","user":"cut'; } >>"$work/malformed.jsonl"
doc=$(pdp report --json "$work/malformed.jsonl")
expect "malformed lines counted and skipped, the rest read" "8 3 5" \
	"$(j "$doc" '.inputs[0] | "\(.lines) \(.decisions) \(.skipped)"')"
expect "skipped lines named with their line numbers and why" \
	"2:not a JSON object|3:unterminated string|4:\"decision\" is not a decision|6:line longer than the log's 8 KiB|8:unterminated string" \
	"$(j "$doc" '[.skipped.examples[] | "\(.line):\(.reason)"] | join("|")')"
expect "skipped lines name their input" "malformed.jsonl" "$(j "$doc" '.skipped.examples[0].input | split("/") | last')"
md=$(pdp report "$work/malformed.jsonl")
expect_match "Markdown lists the skipped lines" 'malformed\.jsonl:6: line longer than the log' "$md"

# --- -c: states, the set's unseen policies, the config's log ------------------------
pdp_make_keys "$bin" "$work" >/dev/null
pdp_write_config "$work" "$sock"
doc=$(pdp report -c "$work/pdp.yaml" --json "$logs/decisions.jsonl")
expect "-c: each policy's state" "admins-strong-auth=enabled hr-compliant-device-trial=report-only" \
	"$(j "$doc" '[.policies[] | select(.id == "admins-strong-auth" or .id == "hr-compliant-device-trial") | "\(.id)=\(.state)"] | sort | join(" ")')"
expect "-c: a policy that never applied is listed with zero counts" "0 0 enabled" \
	"$(j "$doc" '.policies[] | select(.id == "high-risk-password-change") | "\(.applied) \(.denied) \(.state)"')"
expect "-c: six policies of the set, none more" "6" "$(j "$doc" '.policies | length')"
expect "-c: a report-only policy never evaluated is listed with zeros" "0 0 report-only" \
	"$(pdp report -c "$work/pdp.yaml" --json "$logs/malformed.jsonl" | jq -r '.report_only[] | select(.id == "hr-compliant-device-trial") | "\(.evaluated) \(.would.deny) \(.state)"')"
cp "$logs/decisions.jsonl" "$work/decisions.jsonl"
expect "-c and no LOG: the config's decision_log" "16" \
	"$(pdp report -c "$work/pdp.yaml" --json | jq .totals.decisions)"

# --- exit codes ---------------------------------------------------------------------
check "no log and no config is a usage error" 2 'pdp report: needs a decision log' pdp report
check "a missing log names it, exit 1" 1 'pdp report: .*/absent\.jsonl: No such file' pdp report "$work/absent.jsonl"
head -c 300 "$work/decisions.jsonl.2" >"$work/cut.gz"
check "a cut gzip file names it, exit 1" 1 'pdp report: .*/cut\.gz: .*gzip' pdp report "$work/cut.gz"
printf '\x1f\x8b\x08\x00garbage' >"$work/bad.gz"
check "a damaged gzip file names it, exit 1" 1 'pdp report: .*/bad\.gz: ' pdp report "$work/bad.gz"
# Lines after a gzip member that are not another member are not lost without a word.
cat "$work/decisions.jsonl.2" "$logs/decisions.jsonl" >"$work/mixed.gz"
check "plain lines after gzip data: named, exit 1" 1 'pdp report: .*/mixed\.gz: data after the gzip data' \
	pdp report "$work/mixed.gz"
cat "$work/decisions.jsonl.2" "$work/decisions.jsonl.2" >"$work/two.gz"
expect "two gzip members read as one input" \
	"$(($(wc -l <"$logs/decisions.jsonl") * 2))" "$(pdp report --json "$work/two.gz" | jq '.inputs[0].lines')"
check "--top out of range" 2 'pdp report: --top takes a number from 1 to 100' pdp report --top 0 "$logs/decisions.jsonl"
check "a bad --since" 2 'pdp report: --since takes an RFC 3339 time' pdp report --since yesterday "$logs/decisions.jsonl"
check "--since after --until" 2 'pdp report: --since must be before --until' \
	pdp report --since 2026-11-24T00:00:00Z --until 2026-11-23T00:00:00Z "$logs/decisions.jsonl"
check "stdin twice" 2 'pdp report: reads stdin \(-\) once' pdp report - -
check "an unknown option" 2 'usage: pdp serve' pdp report --html-page x "$logs/decisions.jsonl"
sed -i 's|^decision_log: .*|decision_log: stderr|' "$work/pdp.yaml"
check "-c whose log is stderr needs LOG" 2 'pdp report: .*pdp.yaml writes no decision log file' pdp report -c "$work/pdp.yaml"
printf 'nonsense: [\n' >"$work/bad.yaml"
check "a config that does not load, exit 1" 1 'bad.yaml' pdp report -c "$work/bad.yaml" "$logs/decisions.jsonl"

# --- a log written by a real PDP behind nginx ----------------------------------------
pdp_write_config "$work" "$sock"
rm -f "$work/decisions.jsonl"
fixture_serve
fixture_nginx
iss=https://idp.example.com/
aud=https://apps.example.com
good=$(pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"alice@example.com\",\"groups\":[\"admins\"],\"amr\":[\"pwd\",\"mfa\"]}")
bob=$(pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"bob@example.com\",\"groups\":[\"eng\"],\"amr\":[\"pwd\",\"mfa\"]}")
codes=""
req() { codes+="$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$@") "; }
for _ in 1 2 3; do req -H "Authorization: Bearer $good" -H "Host: intranet.example.com" "$url/app"; done
req -H "Authorization: Bearer $good" -H "Host: hr.example.com" "$url/app"
req -H "Authorization: Bearer $bob" -H "Host: hr.example.com" "$url/app"
req -H "Host: intranet.example.com" "$url/app"
req -H "Host: intranet.example.com" "$url/app"
req -H "Authorization: Bearer $good" -H "Host: admin.example.com" "$url/app"
expect "the PDP answered as the policies say" "200 200 200 200 200 401 401 403 " "$codes"
kill "$pdp_pid" && wait "$pdp_pid" 2>/dev/null
pdp_pid=""
doc=$(pdp report -c "$work/pdp.yaml" --json)
expect "real log: every line read, none skipped" "8 8 0" \
	"$(j "$doc" '.inputs[0] | "\(.lines) \(.decisions) \(.skipped)"')"
expect "real log: decisions by result" "5 2 1" \
	"$(j "$doc" '.totals.by_decision | "\(.allow) \(.unauthenticated) \(.deny)"')"
expect "real log: the report-only trial would have denied both HR requests, of two users" \
	"hr-compliant-device-trial report-only 2 2 2 hr:2" \
	"$(j "$doc" '.report_only[] | select(.id == "hr-compliant-device-trial") | "\(.id) \(.state) \(.would.deny) \(.users_distinct.deny) \(.examples | length) \([.by_app[] | "\(.app):\(.deny)"] | join(","))"')"
expect "real log: admins-strong-auth denied alice (no compliant device)" "1 1 1" \
	"$(j "$doc" '.policies[] | select(.id == "admins-strong-auth") | "\(.applied) \(.denied) \(.users_affected_distinct)"')"
expect "real log: latency read" "true" "$(j "$doc" '.latency_us.max > 0')"
expect_no_crash_report "$work/pdp.log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
