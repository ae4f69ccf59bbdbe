#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test twice: on the normal
# build and on an AddressSanitizer + UndefinedBehaviorSanitizer build; then
# fuzzes every parser for a bounded time.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh test || exit 1

total_failed=0
suites=0
run() { # NAME COMMAND...
	suites=$((suites + 1))
	echo "=== $1"
	shift
	if ! "$@"; then
		total_failed=$((total_failed + 1))
	fi
}

# Sanitizer reports must fail the run, leaks included.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The source tree's layers: includes go down, never in a cycle (no build needed).
run "source layers" tests/layout/test_layers.sh

for variant in release sanitize; do
	dir=build-test-$variant
	args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	[ $variant = sanitize ] && args=(-DCMAKE_BUILD_TYPE=Debug -DPDP_SANITIZE=ON)
	echo "=== build ($variant)"
	pdp_build "$dir" "${args[@]}" || { echo "build ($variant) failed"; exit 1; }
	run "unit tests ($variant)" ctest --test-dir "$dir" --output-on-failure
	run "command line ($variant)" tests/integration/test_cli.sh "$dir/pdp"
	run "Zero Trust coverage of policy sets ($variant)" tests/integration/test_coverage.sh "$dir/pdp"
	run "integration through nginx ($variant)" tests/integration/test_nginx.sh "$dir/pdp"
	run "HTTP/1.1 front through nginx ($variant)" tests/integration/test_http.sh "$dir/pdp"
	run "claims as issuers emit them, through nginx ($variant)" tests/integration/test_claims.sh "$dir/pdp"
	run "identity provider over TLS: discovery, rotation, failure ($variant)" tests/integration/test_idp.sh "$dir/pdp"
	run "context store through nginx and Redis ($variant)" tests/integration/test_redis.sh "$dir/pdp"
	run "app matching through nginx ($variant)" tests/integration/test_matching.sh "$dir/pdp"
	run "slow and hostile peers on the socket ($variant)" tests/integration/test_slow_peer.sh "$dir/pdp"
	run "client input through nginx: audit, sign-in, X-PDP headers ($variant)" tests/integration/test_client_input.sh "$dir/pdp"
	run "reload safety through nginx ($variant)" tests/integration/test_reload.sh "$dir/pdp"
	run "health after reloads through nginx ($variant)" tests/integration/test_health.sh "$dir/pdp"
	run "context store lost or stalled ($variant)" tests/integration/test_store_loss.sh "$dir/pdp"
	run "first run: one challenge per 401, MFA by its acr, the demo ($variant)" tests/integration/test_first_run.sh "$dir/pdp"
	run "pdp report on fixed logs and a real PDP's log ($variant)" tests/integration/test_report.sh "$dir/pdp"
	run "report page in a headless browser ($variant)" tests/integration/test_report_html.sh "$dir/pdp"
done

# The load-test harness end to end on the release build (small and short; no timing asserted).
run "load-test harness (quick)" tests/integration/test_loadtest.sh build-test-release

# Every parser under libFuzzer for a bounded time (PDP_FUZZ_SECONDS per target).
run "fuzz (${PDP_FUZZ_SECONDS:-20}s per parser)" tests/fuzz/run.sh "${PDP_FUZZ_SECONDS:-20}"

echo
echo "suites: $((suites - total_failed)) passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
