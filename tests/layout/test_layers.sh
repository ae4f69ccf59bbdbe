#!/usr/bin/env bash
# The source tree's layers, checked: each file includes only from the layers
# below its own (docs/DESIGN.md, "Layout"), no two modules include each
# other, directly or through others, and the evaluator includes nothing of
# the policy loader.
set -uo pipefail
cd "$(dirname "$0")/../.."
src=pdp/src

# What each layer may include besides itself.
declare -A below=(
	[core]=""
	[transport]="core"
	[identity]="core"
	[policy]="core"
	[context]="core"
	[service]="core transport identity policy context"
	[evidence]="core transport identity policy context service"
	[cli]="core transport identity policy context service evidence"
)
# Files allowed one include across a layer, each with its reason.
declare -A exceptions=(
	# Test cases hold device and user records in the store's own field syntax.
	["policy/cases.c context/record.h"]=1
)

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in $(cd "$src" && find . -name '*.[ch]' | sed 's|^\./||' | sort); do
	layer=${f%%/*}
	[ -n "${below[$layer]+x}" ] || {
		fail "$src/$f: in no known layer (${!below[*]})"
		continue
	}
	module=${f%.[ch]}
	while read -r inc; do
		[ -f "$src/$inc" ] || {
			fail "$src/$f: includes \"$inc\", which is not under $src"
			continue
		}
		to=${inc%%/*}
		if [ "$to" != "$layer" ] && [[ " ${below[$layer]} " != *" $to "* ]] &&
			[ -z "${exceptions["$f $inc"]+x}" ]; then
			fail "$src/$f: the $layer layer includes \"$inc\" from the $to layer"
		fi
		[ "${inc%.h}" != "$module" ] && echo "$module ${inc%.h}" >>"$edges"
	done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$src/$f")
done

# The evaluator builds without the loader: nothing it includes, directly or
# through others, is the loader's.
closure() { # FILE: every header FILE reaches through includes
	local queue=("$1") seen=" " f inc
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		while read -r inc; do
			[[ "$seen" == *" $inc "* ]] && continue
			seen+="$inc "
			[ -f "$src/$inc" ] && queue+=("$inc")
		done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$src/$f")
	done
	echo "$seen"
}
for f in policy/eval.c policy/eval.h; do
	for loader in policy/loader.h policy/load.h; do
		[[ "$(closure "$f")" == *" $loader "* ]] &&
			fail "$src/$f: the evaluator reaches the loader's $loader"
	done
done

# tsort names the modules of a cycle on stderr.
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	fail "an include cycle between modules:"
	sed 's/^/  /' "$edges.err"
fi
rm -f "$edges.err"

[ $failed -eq 0 ] && echo "layers: every include goes down, no cycle"
exit $failed
