#!/usr/bin/env bash
# The pdp command as policy authors and operators use it.
# usage: test_cli.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_cli.sh BIN_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; }
# check NAME WANT_RC WANT_REGEX COMMAND...: exit status and output (stdout+stderr)
check() {
	local name=$1 want_rc=$2 want=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want_rc" ] && printf '%s' "$out" | tr '\n' ' ' | grep -qE -- "$want"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc (wanted $want_rc); output: $out"
	fi
}

check "sample policies are valid" 0 '^.*policies: ok \(4 files, 5 apps, 6 policies, revision [0-9a-f]{16}\)$' \
	"$bin/pdp" check "$root/policies"

cp -r "$root/policies" "$work/policies"
printf 'policies:\n  - id: typo\n    users: { include: all }\n    apps: { include: [admin-portl] }\n    grant: block\n' \
	>"$work/policies/40-typo.yaml"
check "a reference to a missing app names file:line:col" 1 \
	"40-typo.yaml:4:23: no app has id \"admin-portl\"" "$bin/pdp" check "$work/policies"
printf 'policies:\n  - id: x\n    users: { include: all }\n    apps: { include: all }\n    grant: { controls: [mfa] }\n    sesion: { sign_in_frequency: 1h }\n' \
	>"$work/policies/40-typo.yaml"
check "an unknown key is an error, not ignored" 1 \
	"40-typo.yaml:6:5: unknown key \"sesion\"" "$bin/pdp" check "$work/policies"
printf 'policies:\n  - id: block-embargoed\n    users: { include: all }\n    apps: { include: all }\n    grant: block\n' \
	>"$work/policies/40-typo.yaml"
check "an id defined twice names both places" 1 \
	"40-typo.yaml:2:5: duplicate policy id \"block-embargoed\" \(first defined at .*30-baseline.yaml:" \
	"$bin/pdp" check "$work/policies"
printf 'policies:\n  - id: w\n    users: { include: { groups: [g] }, exclude: { groups: [g] } }\n    apps: { include: all }\n    grant: block\n' \
	>"$work/policies/40-typo.yaml"
check "contradictions are warnings, not errors" 0 \
	"warning: .*40-typo.yaml:2:5: policy \"w\" includes and excludes the same user, group or role" \
	"$bin/pdp" check "$work/policies"
check "a missing directory is an error" 1 "No such file" "$bin/pdp" check "$work/nowhere"
check "no arguments is a usage error" 2 "usage: pdp" "$bin/pdp" check

pdp_make_keys "$bin" "$work" >/dev/null
pdp_write_config "$work" "$work/pdp.sock"
check "config, keys and the config's policy directory" 0 \
	"pdp.yaml: ok \(2 issuers\).*policies: ok \(4 files" "$bin/pdp" check -c "$work/pdp.yaml"
sed -i 's/^threads: 4$/threads: four/' "$work/pdp.yaml"
check "a config error names file:line:col" 1 "pdp.yaml:2:10: expected a whole number" \
	"$bin/pdp" check -c "$work/pdp.yaml"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
