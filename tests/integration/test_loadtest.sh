#!/usr/bin/env bash
# The load-test harness end to end, small and short (loadtest/run.sh --quick):
# real Redis, PDP, zero-work responder and nginx on loopback. Checks what the
# report says happened (answers, decision mix, scenarios, memory, chart), never
# how fast: timings on a shared machine are for the report, not for tests.
# usage: tests/integration/test_loadtest.sh BUILD_DIR
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/assert.sh"
build=$(cd "${1:?usage: test_loadtest.sh BUILD_DIR}" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/pdp-loadtest-XXXXXX")
trap 'rm -rf "$out"' EXIT

"$root/loadtest/run.sh" --quick --prebuilt "$build" --out "$out" >"$out/run.log" 2>&1
rc=$?
expect "the quick suite runs to the end" 0 "$rc" "$(tail -20 "$out/run.log")"
r=$out/report.json
j() { jq -r "$@" "$r" 2>&1; }

expect "report.json is JSON" "object" "$(j 'type')"
expect "the PDP on its default transport, as many loops as CPUs" "epoll $(nproc)" \
	"$(j '.settings | "\(.pdp_transport) \(.pdp_threads)"')"
expect "nine runs through nginx, each with throughput" "9" \
	"$(j '[.through_nginx[] | select(.rps > 0)] | length')"
expect "the zero-work responder answering as the PDP: 200, 401 and 403 in the PDP's shares" "true" \
	"$(j '.through_nginx as $t | ["200", "401", "403"] | all(. as $s
		| (($t.pdp.status[$s] // 0) / ($t.pdp.status | add)) as $p
		| (($t.zero_work_as_pdp.status[$s] // 0) / ($t.zero_work_as_pdp.status | add)) as $z
		| $p > 0 and ($p - $z | fabs) < 0.03)')"
expect "the PDP over HTTP and the zero-work HTTP responder: 200, 401 and 403 in the shares of the PDP over FastCGI" "true" \
	"$(j '.through_nginx as $t | ["200", "401", "403"] | all(. as $s
		| (($t.pdp.status[$s] // 0) / ($t.pdp.status | add)) as $p
		| [$t.pdp_http, $t.zero_work_http_as_pdp][] | ((.status[$s] // 0) / (.status | add)) as $h
		| $p > 0 and ($p - $h | fabs) < 0.03)')"
expect "five runs through nginx at a lighter load, each with throughput and answers 200, 401 and 403" "5" \
	"$(j '[.through_nginx_paced | .zero_work_as_pdp, .zero_work_epoll_as_pdp, .pdp, .pdp_http, .zero_work_http_as_pdp
		| select(.rps > 0 and .status["200"] > 0 and .status["401"] > 0 and .status["403"] > 0)] | length')"
expect "the lighter load is lighter: the zero-work responder ran at most at 3/4 of its saturated rate" "true" \
	"$(j '.through_nginx_paced.load_vs_saturated < 0.75 and .through_nginx_paced.connections >= 2')"
expect "three direct runs, each with throughput" "3" "$(j '[.direct[] | select(.rps > 0)] | length')"
expect "direct over HTTP: every request answered on kept-alive connections, with decisions" "true" \
	"$(j '.direct.pdp_http | .errors == 0 and .status["200"] > 0 and .status["401"] > 0 and .status["403"] > 0')"
expect "the HTTP front's ratios: each a median within its rounds' least and greatest" "5" \
	"$(j '[.http_front | .pdp_http_over_pdp_fastcgi_nginx, .pdp_http_over_zero_work_http_as_pdp_nginx,
		.pdp_http_over_internal_nginx, .paced_p99_pdp_http_minus_pdp_fastcgi_us, .pdp_http_over_pdp_fastcgi_direct
		| select((.median | type) == "number" and .min <= .median and .median <= .max and .rounds > 0)] | length')"
expect "the HTTP front's targets carry their spread and whether it resolves them" "3" \
	"$(j '[.targets[] | select(.spread != null and (.resolved | type) == "boolean" and .spread[0] <= .got and .got <= .spread[1])] | length')"
expect "nginx keeps its connections to the PDP's HTTP front: fewer than one accepted per 10 requests through nginx" "true" \
	"$(j '.http_front | .connections_accepted > 0 and .connections_accepted * 10 < .requests_through_nginx')"
expect "no transport error or 500 in any run" "true" \
	"$(j '.targets[] | select(.name | startswith("no transport")) | .met')"
expect "every target has a verdict" "$(j '.targets | length')" "$(j '[.targets[] | select(.met == true or .met == false)] | length')"
expect "the fifteen targets are reported" "15" "$(j '.targets | length')"
expect "the generated users get allow, deny and step-up" "true" \
	"$(j '.decision_mix_direct | .allow > 0 and .deny > 0 and .["step-up"] > 0 and .error == 0')"
expect "flood: every invalid signature is refused as unauthenticated" "true" \
	"$(j '.flood.invalid | .decisions.unauthenticated > 0 and .decisions.unauthenticated == .decisions.allow + .decisions.deny + .decisions["step-up"] + .decisions.unauthenticated + .decisions.error + .decisions.none')"
expect "flood: valid traffic still allowed" "true" "$(j '.flood.valid_during_flood.decisions.allow > 0')"
expect "cold: every first-seen token answered" "true" \
	"$(j '.cold.cold_one_client.decisions | .allow + .deny + .["step-up"] > 0 and .error == 0 and .unauthenticated == 0')"
expect "cold: the extra cost is measured against an RSA verify" "true" \
	"$(j '.cold.rsa2048_verify_us > 0 and (.cold.extra_in_rsa_verifies | type) == "number"')"
# How much longer it took is measured, not asserted: in a 1-second round the difference
# can fall below zero, and the target then reports no ratio (null) and is not met.
expect "cold: the responder verifying a signature a request answered every one, its cost measured" "true" \
	"$(j '.cold | .zero_work_verify_one_client.status == {"200": .zero_work_verify_one_client.decisions.allow}
		and .zero_work_verify_one_client.errors == 0 and (.rsa2048_verify_in_responder_us | type) == "number"
		and ((.extra_in_responder_verifies | type) == "number"
			or (.rsa2048_verify_in_responder_us <= 0 and .extra_in_responder_verifies == null))')"
expect "cold: no context-store round trip for a first-seen token (records cached, jti mirror complete)" "0" \
	"$(j '.cold.store_round_trips_per_cold_token')"
expect "cold: first-seen and warm runs interleaved, one pair a round" "true" \
	"$(j '.cold.rounds == .settings.rounds and ([.cold.warm_one_client, .cold.cold_one_client] | all(.decisions | add > 0))')"
expect "cold: the PDP timed its own RS256 checks, and a first-seen decision took longer than one" "true" \
	"$(j '.cold | .pdp_rsa_verify_us > 0 and .first_seen_decision_us > .pdp_rsa_verify_us and (.extra_decision_in_pdp_verifies | type) == "number"')"
expect "the zero-work responder driven twice a round: both runs answered, and how far apart they are is reported" "true" \
	"$(j '.through_nginx.zero_work_as_pdp_again | .rps > 0 and .errors == 0 and .status["200"] > 0')"
expect "the distance between two runs of one server is a number of microseconds" "true" \
	"$(j '.ratios | .same_responder_twice_p99_apart_us >= 0 and (.same_responder_twice_p99_minus_us | type) == "number" and .same_responder_twice_rps > 0')"
expect "cold: the verifying responder timed its own verifies" "true" \
	"$(j '.cold | .responder_rsa_verify_us > 0 and (.extra_decision_in_responder_timed_verifies | type) == "number"')"
expect "cold: the PDP spends more on a first-seen token than on a warm one" "true" \
	"$(j '.cold.first_seen_decision_us > .cold.warm_decision_us and (.cold.extra_decision_in_rsa_verifies | type) == "number"')"
expect "reload every 100 ms: reloads happened, no error answers" "true" \
	"$(j '.reload_every_100ms | .reloads >= 5 and .with.decisions.error == 0')"
expect "decision log: a second PDP wrote a line for every decision it made, or all but 1%" "true" \
	"$(j '.decision_log | .with.rps > 0 and .lines_written <= .decisions and .lines_written >= .decisions * 0.99 and .with.decisions.error == 0')"
expect "revocation storm: revoked sessions were refused" "true" \
	"$(j '.revocation_storm | .requests_refused_as_revoked > 0 and .with.decisions.unauthenticated > 0')"
expect "Redis outage: no transport error, store errors seen, health back to 200" "true" \
	"$(j '.redis_outage | .run.errors == 0 and .store_errors > 0 and .health_after == 200 and .run.decisions.error == 0')"
expect "policy scale: 10, 50, 100, 1,000 and 10,000 policies measured" "10 50 100 1000 10000" \
	"$(j '[.policy_scale[] | select(.rps > 0) | .policies] | sort | map(tostring) | join(" ")')"
expect "memory: every generated token is live in the token cache" "3000" "$(j '.memory.live_tokens')"
expect "memory: RSS reported" "true" "$(j '.memory.rss_mib > 0')"
expect_match "report.md has the targets and scenarios" '## Targets(.|\n)*## Scenarios' "$(tr '\n' ' ' <"$out/report.md")"
expect "latency.png is a PNG" "PNG" "$(head -c 4 "$out/latency.png" | tail -c 3)"
leftover=$(pgrep -af 'pdp-load-|pdp-zero( |$)' | grep -v pgrep || true)
expect "nothing the harness started is left running" "" "$leftover"

# pdp report's benchmark, small: a row per log length, every generated line read as a
# decision (the script fails otherwise), and the memory it took.
bench=$("$root/loadtest/report_bench.sh" --prebuilt "$build" --lines "20000 80000" 2>&1)
expect "report benchmark: runs to the end" 0 "$?" "$bench"
expect "report benchmark: a row for each log length, with lines/s and the peak memory" "20000 80000" \
	"$(awk -F' *[|] *' '$2 ~ /^[0-9]+$/ && $6 > 0 && $8 ~ /MiB$/ { printf "%s%s", sep, $2; sep = " " }' <<<"$bench")" "$bench"

echo "# test_loadtest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
