#!/usr/bin/env bash
# The report's HTML page in a real browser: Debian's headless Chromium, driven by
# playwright-core (tests/browser, pinned by its package-lock.json, installed with npm ci).
# Pages rendered from documents written here (a week of decisions, the same with hostile
# markup in every string that comes from requests, an empty one) and from a decision log
# by `pdp report`: each opens from a file:// URL and shows its title, headings and figures;
# each chart holds one point per row and series of its document; nothing is fetched and
# nothing is logged as an error; hostile strings show as text and none of them runs.
# The pages and their screenshots are kept in the build's test-output/report-html/.
# usage: test_report_html.sh BIN_DIR   (the build's pdp/ directory; pdp-report-html is in ../tests)
set -uo pipefail

bin=$(cd "${1:?usage: test_report_html.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
browser=$(cd "$here/../browser" && pwd)
render=$bin/../tests/pdp-report-html
. "$here/../../scripts/lib.sh"
. "$here/assert.sh"
. "$here/fixture.sh"

command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed (scripts/deps.sh test)"; exit 1; }
[ -x "${PDP_CHROMIUM:-/usr/bin/chromium}" ] || { echo "chromium is needed (scripts/deps.sh test)"; exit 1; }
[ -x "$render" ] || { echo "$render is missing: build the tests"; exit 1; }

fixture_start report-html
# The work directory goes at exit; the pages and screenshots stay beside the build.
kept=$(mkdir -p "$bin/../test-output/report-html" && cd "$bin/../test-output/report-html" && pwd)
rm -f "$kept"/*

# --- the browser driver's packages: npm ci once per lock file (offline afterwards) ----
lock_sum=$(sha256sum "$browser/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$browser/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
	(cd "$browser" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
		{ echo "npm ci in tests/browser failed:"; cat "$work/npm.log"; exit 1; }
	echo "$lock_sum" >"$browser/node_modules/.lock-sha256"
fi

# --- the documents -----------------------------------------------------------------------
# A week in hourly buckets, with policies, apps, reasons, two report-only policies, incidents
# and skipped lines; the totals add up from the buckets.
jq -n '
	def at($h): 1794787200 + $h * 3600 | todate | sub("Z$"; ".000Z");
	[range(0; 168) | {start: at(.), allow: (200 + (. % 24) * 13), deny: ((. % 7) * 3),
		"step-up": (. % 5), unauthenticated: (. % 3), error: (if . == 100 then 4 else 0 end)}]
	as $b
	| (["allow", "deny", "step-up", "unauthenticated", "error"]
		| map({key: ., value: (. as $k | $b | map(.[$k]) | add)}) | from_entries) as $by
	| {format: "pdp-report/1",
	   inputs: [{name: "decisions.jsonl.1.gz", lines: (($by | add) + 2), decisions: ($by | add),
		skipped: 2}],
	   skipped: {count: 2, examples: [
		{input: "decisions.jsonl.1.gz", line: 17, reason: "not a JSON object"},
		{input: "decisions.jsonl.1.gz", line: 4410, reason: "truncated line"}]},
	   window: {since: "2026-11-16T00:00:00.000Z", until: null, first: at(0),
		last: (at(167) | sub(":00:00.000Z$"; ":59:58.412Z"))},
	   totals: {decisions: ($by | add), by_decision: $by, users_distinct: 310,
		devices_distinct: 280},
	   timeline: {bucket_seconds: 3600, buckets: $b},
	   latency_us: {p50: 120, p90: 200, p99: 450, p999: 900, max: 2100},
	   policies: [
		{id: "block-legacy", applied: 1400, denied: 0, stepped_up: 0,
		 users_affected_distinct: 0, state: "report-only"},
		{id: "admins-strong-auth", applied: 300, denied: 120, stepped_up: 40,
		 users_affected_distinct: 9, state: "enabled"},
		{id: "risky-sign-in-mfa", applied: 260, denied: 0, stepped_up: 90,
		 users_affected_distinct: 31, state: "report-only"},
		{id: "payroll-write-frequency", applied: 80, denied: 3, stepped_up: 10,
		 users_affected_distinct: 4, state: null}],
	   apps: [
		{app: "intranet", decisions: 30000, by_decision: {allow: 29800, deny: 100,
		 "step-up": 50, unauthenticated: 50, error: 0}},
		{app: "admin-portal", decisions: 500, by_decision: {allow: 400, deny: 80,
		 "step-up": 20, unauthenticated: 0, error: 0}}],
	   top_deny_reasons: [
		{reason: "admins-strong-auth: compliant device required", count: 80, error: 0},
		{reason: "block-embargoed: country is blocked", count: 41, error: 2}],
	   top_step_up_reasons: [{reason: "risky-sign-in-mfa: mfa required", count: 90, error: 0}],
	   report_only: [
		{id: "block-legacy", evaluated: 1400, would: {deny: 1234, "step-up": 0},
		 users_distinct: {deny: 57, "step-up": 0},
		 by_app: [{app: "intranet", deny: 1200, "step-up": 0},
			{app: "admin-portal", deny: 34, "step-up": 0}],
		 examples: ["req-7f3a", "req-88c1", "req-9d02"]},
		{id: "risky-sign-in-mfa", evaluated: 260, would: {deny: 0, "step-up": 90},
		 users_distinct: {deny: 0, "step-up": 31}, by_app: [{app: "intranet", deny: 0,
		 "step-up": 90}], examples: []}],
	   incidents: [
		{kind: "store-unavailable", start: (at(30) | sub(":00:00"; ":12:00")),
		 end: (at(31) | sub(":00:00"; ":40:00")), decisions: 412},
		{kind: "keys-unavailable", start: (at(100) | sub(":00:00"; ":05:00")),
		 end: (at(100) | sub(":00:00"; ":06:30")), decisions: 4}]}' >"$work/week.json" ||
	{ echo "jq failed to write the document"; exit 1; }

# The same with markup and scripts wherever a string comes from requests or logs.
jq '.top_deny_reasons[0].reason = "<script>window.__pwned=1</script>"
	| .report_only[0].examples = ["\"><img src=x onerror=\"window.__pwned=2\">", "req-\u0001-ctl"]
	| .apps[0].app = "<iframe src=\"http://127.0.0.1:9/\"></iframe>"
	| .policies[1].id = "</code></text></svg><script>window.__pwned=3</script>"
	| .report_only[1].by_app[0].app = "<svg onload=\"window.__pwned=4\"></svg>"
	| .skipped.examples[0].reason = "<style>body{display:none}</style>"
	| .incidents[0].kind = "<a href=\"http://127.0.0.1:9/\">store</a>"' \
	"$work/week.json" >"$work/hostile.json"

printf '{"format":"pdp-report/1"}\n' >"$work/empty.json"

# --- what each page must show, computed from its document ----------------------------
commas='def commas: tostring | explode | reverse | [_nwise(3)] | map(reverse | implode) | reverse | join(",");'
# The points each chart holds: buckets x 5 decisions, policies x 3, report-only policies x 2,
# the 5 latency percentiles; a chart of no rows is left out.
charts='{timeline: ((.timeline.buckets // []) | length * 5), latency: 5}
	+ (if (.policies // []) | length > 0 then {policies: (.policies | length * 3)} else {} end)
	+ (if (.report_only // []) | length > 0 then {"report-only": (.report_only | length * 2)} else {} end)'

# probe NAME: opens the kept NAME.html in the browser; what it saw in $work/NAME.probe.
probe() {
	if node "$browser/probe.js" "$kept/$1.html" "$kept/$1.png" >"$work/$1.probe" 2>"$work/$1.err"; then
		ok "$1: the browser opened the page"
	else
		not_ok "$1: the browser opened the page" "$(tail -20 "$work/$1.err")"
		return 1
	fi
}
seen() { jq -c "$2" "$work/$1.probe"; }
# shows NAME TEXT: the page's text, as a reader sees it, holds TEXT.
shows() { expect "$1: the page shows \"${2//$'\n'/\\n}\"" true "$(jq --arg s "$2" '.text | contains($s)' "$work/$1.probe")"; }

# page_checks NAME DOC: what every page must hold, against its document.
page_checks() {
	local name=$1 doc=$2 png
	expect "$name: the title names the window" \
		"$(jq -c 'if .window.first and .window.last then "PDP report: \(.window.first) to \(.window.last)" else "PDP report: no decisions" end' "$doc")" \
		"$(seen "$name" .title)"
	expect "$name: the heading and every section" \
		'[["Policy decision report"],["Totals","Report-only policies: what enforcing them would change","Decisions over time","Incidents","Policies","Apps","Reasons","Latency","Skipped lines"]]' \
		"$(seen "$name" '[.h1, .h2]')"
	shows "$name" "$(jq -r "$commas"' "decisions\n\(.totals.decisions // 0 | commas)"' "$doc")"
	expect "$name: each chart holds one point per row and series of the document" \
		"$(jq -S -c "$charts" "$doc")" "$(seen "$name" '.charts' | jq -S -c .)"
	expect "$name: each incident marked on the timeline" \
		"$(jq 'if (.timeline.buckets // []) | length > 0 then (.incidents // []) | length else 0 end' "$doc")" \
		"$(seen "$name" .incidents)"
	expect "$name: every chart drawn wide, with a title it is labelled by" true \
		"$(seen "$name" '[.chartBoxes[] | .width > 400 and .titled] | all')"
	expect "$name: every table has headers" true "$(seen "$name" '.tables == .tablesWithHeaders')"
	expect "$name: no console error" "[]" "$(seen "$name" .consoleErrors)"
	expect "$name: no request besides the page itself" "[]" "$(seen "$name" .requests)"
	expect "$name: no failed request" "[]" "$(seen "$name" .failedRequests)"
	expect "$name: no script in the page, nothing ran" "0 null" "$(seen "$name" '"\(.scripts) \(.pwned)"' | jq -r .)"
	png=$(head -c 8 "$kept/$name.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
	expect "$name: a screenshot kept (PNG)" 89504e470d0a1a0a "$png"
}

# --- pages from documents written here ----------------------------------------------------
for name in week hostile empty; do
	"$render" "$work/$name.json" "$kept/$name.html" 2>"$work/$name.render" ||
		{ not_ok "$name: the page is rendered" "$(cat "$work/$name.render")"; continue; }
	probe "$name" || continue
	page_checks "$name" "$work/$name.json"
done

ro=$(jq -r "$commas"' .report_only[0] | "Enforcing it would have denied \(.would.deny | commas) requests (\(.users_distinct.deny) distinct users)"' "$work/week.json")
shows week "$ro"
shows week "$(jq -r '.report_only[0].examples | join(", ")' "$work/week.json")"
shows week "Decisions per hour, stacked by result; hatched bands mark the incidents"
shows week "context store unavailable"
shows week "truncated line"
for s in '<script>window.__pwned=1</script>' '"><img src=x onerror="window.__pwned=2">' \
	'<iframe src="http://127.0.0.1:9/"></iframe>' '<style>body{display:none}</style>' \
	'<svg onload="window.__pwned=4"></svg>' '<a href="http://127.0.0.1:9/">store</a>'; do
	shows hostile "$s"
done
shows empty "No report-only policy was evaluated in this window."
shows empty "No decisions in this window."

# A document the renderer must refuse: the member at fault named, no page left to open.
jq '.policies[1].denied = -1' "$work/week.json" >"$work/bad.json"
out=$("$render" "$work/bad.json" "$work/bad.html" 2>&1)
expect "a count below zero is refused, naming the member" \
	"1 pdp-report-html: $work/bad.json: policies[1].denied: not a non-negative integer" "$? $out"

# --- pages made by `pdp report` from a decision log ------------------------------------
# 60 decisions: every third a deny by admins-strong-auth; the others allowed, each with the
# report-only block-legacy, which would deny every fourth; then a line that is not JSON.
log=$work/decisions.jsonl
for i in $(seq 1 60); do
	t=$(printf '2026-11-23T04:%02d:%02d.%03dZ' $((i / 2)) $((i % 60)) $((i * 7 % 1000)))
	if [ $((i % 3)) = 0 ]; then
		printf '{"time":"%s","request_id":"r-%d","ip":"203.0.113.%d","method":"GET","host":"admin.example.com","uri":"/x","decision":"deny","user":"u%d@example.com","app":"admin-portal","reason":"admins-strong-auth: compliant device required","policies":[{"id":"admins-strong-auth","result":"unmet","reason":"compliant device required"}],"report_only":[],"revision":"b244d9ce927b0fae","latency_us":%d}\n' \
			"$t" "$i" "$i" $((i % 7)) $((100 + i))
	else
		would=allow
		[ $((i % 4)) = 0 ] && would=deny
		printf '{"time":"%s","request_id":"r-%d","ip":"203.0.113.%d","method":"GET","host":"intranet.example.com","uri":"/","decision":"allow","user":"u%d@example.com","app":"intranet","policies":[],"report_only":[{"id":"block-legacy","would":"%s","reason":"legacy client"}],"revision":"b244d9ce927b0fae","latency_us":%d}\n' \
			"$t" "$i" "$i" $((i % 7)) "$would" $((100 + i))
	fi
done >"$log"
printf 'not a decision\n' >>"$log"

"$bin/pdp" report --json "$log" >"$work/from-log.json" 2>"$work/report.err"
expect "pdp report --json: exit 0" 0 "$?" "$(cat "$work/report.err")"
expect "pdp report --json: 60 decisions, 1 line skipped, block-legacy would deny 10" \
	"60 1 10" "$(jq -r '"\(.totals.decisions) \(.skipped.count) \(.report_only[] | select(.id == "block-legacy") | .would.deny)"' "$work/from-log.json" 2>&1)"
"$bin/pdp" report --html "$kept/from-log.html" "$log" >"$work/report-html.out" 2>"$work/report-html.err"
expect "pdp report --html: exit 0" 0 "$?" "$(cat "$work/report-html.err")"
expect "pdp report --html alone: the page only, nothing on stdout" "" "$(cat "$work/report-html.out")"
"$bin/pdp" report --html "$work/both.html" --json "$log" >"$work/both.json" 2>&1
expect "pdp report --html --json: the page, and the same document on stdout" "true" \
	"$(jq --slurpfile a "$work/from-log.json" '.totals == $a[0].totals and .report_only == $a[0].report_only' "$work/both.json" 2>&1)"
expect "pdp report --html --json: the page is the one --html alone writes" "" \
	"$(cmp "$work/both.html" "$kept/from-log.html" 2>&1)"
"$bin/pdp" report --html "$work/no-such-dir/page.html" "$log" >/dev/null 2>"$work/nodir.err"
expect "pdp report --html into a missing directory: exit 1, the path named" \
	"1 1" "$? $(grep -c "no-such-dir/page.html" "$work/nodir.err")"
probe from-log && page_checks from-log "$work/from-log.json"

echo "     pages and screenshots kept in $kept"
echo "report page in a browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
