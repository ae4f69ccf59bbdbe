# Assertions shared by the integration tests: TAP-like lines and a pass/fail count.
# Source it; it sets passed and failed.
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; }

# expect NAME WANT GOT [detail]
expect() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "wanted [$2], got [$3] ${4:-}"; fi; }
# check NAME WANT_RC WANT_REGEX COMMAND...: exit status and output (stdout+stderr, newlines
# read as spaces)
check() {
	local name=$1 want_rc=$2 want=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want_rc" ] && grep -qE -- "$want" <<<"${out//$'\n'/ }"; then
		ok "$name"
	else
		not_ok "$name" "exit $rc (wanted $want_rc); output: $out"
	fi
}
# A here-string, not a pipe: grep -q exits early, and pipefail would count printf's SIGPIPE.
expect_match() { if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1" "no match for /$2/ in: $(head -c 2000 <<<"$3")"; fi; }
# expect_no_crash_report LOG: no sanitizer, crash or abort report in the daemon's log.
expect_no_crash_report() {
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error|Segmentation|Aborted' "$1"; then
		not_ok "no sanitizer or crash report in the PDP log" "$(grep -E -A5 'Sanitizer|runtime error' "$1" | head -30)"
	else
		ok "no sanitizer or crash report in the PDP log"
	fi
}
