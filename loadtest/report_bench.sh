#!/usr/bin/env bash
# pdp report's benchmark: lines/s on one core and peak memory over generated
# decision logs of 1M and 4M lines (50,000 and 200,000 users), so that "flat
# memory" is shown (the peak at 4M about the one at 1M). The logs come from
# pdp-decision-gen (many users, apps, enforced and report-only policies,
# outages); each run is pinned to one core with taskset and timed with
# /usr/bin/time. Prints a Markdown table.
#
# usage: loadtest/report_bench.sh [--build DIR] [--prebuilt DIR] [--lines "N N ..."] [--cpu N]
#   --build DIR: build a Release tree there (default build-loadtest).
#   --prebuilt DIR: use the binaries already built in DIR as they are.
#   --lines: the log lengths to measure (default "1000000 4000000").
#   --cpu: the core to pin to (default 1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"

build=$root/build-loadtest
prebuilt=0
sizes="1000000 4000000"
cpu=1
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--prebuilt) build=$2; prebuilt=1; shift 2 ;;
	--lines) sizes=$2; shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--prebuilt DIR] [--lines \"N N ...\"] [--cpu N]" >&2; exit 2 ;;
	esac
done
[ $prebuilt = 1 ] || pdp_build "$build" -DCMAKE_BUILD_TYPE=Release -DPDP_TESTS=OFF >/dev/null
pdp=$build/pdp/pdp
gen=$build/loadtest/pdp-decision-gen
work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-report-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "| lines | log size | wall | CPU (user+sys) | lines/s (wall) | lines/s (CPU) | max RSS |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for n in $sizes; do
	# Users grow with the log (one per 20 lines), so memory kept per user would show.
	"$gen" --lines "$n" --users $((n / 20 > 0 ? n / 20 : 1)) >"$work/decisions.jsonl"
	# Read once before timing, so both sizes are measured from the page cache.
	cat "$work/decisions.jsonl" >/dev/null
	taskset -c "$cpu" /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
		"$pdp" report --json "$work/decisions.jsonl" >"$work/report.json"
	read -r wall user sys rss <"$work/time"
	got=$(jq '.totals.decisions + .skipped.count' "$work/report.json")
	[ "$got" = "$n" ] || { echo "the report read $got lines of $n" >&2; exit 1; }
	size=$(du -m "$work/decisions.jsonl" | cut -f1)
	awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v mb="$size" 'BEGIN {
		cpu = u + s
		printf "| %d | %d MiB | %.2f s | %.2f s | %d | %d | %.1f MiB |\n",
			n, mb, w, cpu, n / (w > 0 ? w : 0.01), n / (cpu > 0 ? cpu : 0.01), r / 1024 }'
	rm -f "$work/decisions.jsonl"
done
