#!/usr/bin/env bash
# Renders report.json (loadtest/run.sh) as report.md, and the latency
# distributions of round 1 as latency.png (gnuplot).
# usage: loadtest/report.sh REPORT_JSON RESULTS_DIR OUT_DIR
set -euo pipefail
json=$1 res=$2 out=$3
q() { jq -r "$@" "$json"; }

# --- chart: latency CDFs, through nginx (wrk) and direct (pdp-load) ---------------------
cdf() { jq -r '.cdf[] | "\(.[0]) \(.[1])"' "$res/$1-1.json" >"$res/$1.dat"; }
for l in noauth internal zero zeromix zeroepoll pdp pdphttp zerohttp; do cdf "nginx-$l"; done
for l in zeromix zeroepoll pdp pdphttp zerohttp; do cdf "paced-$l"; done
gnuplot <<GP
set terminal pngcairo size 1500,520 font ",10" noenhanced
set output "$out/latency.png"
set multiplot layout 1,3 title "PDP latency against baselines measured in the same run (round 1)"
set logscale x
set xlabel "latency (us, log scale)"
set ylabel "fraction of requests at or below"
set key bottom right
set grid
set yrange [0:1]
set title "through nginx (wrk)"
plot "$res/nginx-noauth.dat" using 1:2 with lines lw 2 title "nginx, no auth", \
     "$res/nginx-internal.dat" using 1:2 with lines lw 2 title "auth_request to return 200", \
     "$res/nginx-zero.dat" using 1:2 with lines lw 2 title "auth_request to zero-work libfcgi", \
     "$res/nginx-zeromix.dat" using 1:2 with lines lw 2 title "same, answering as the PDP", \
     "$res/nginx-zeroepoll.dat" using 1:2 with lines lw 2 title "same, on the PDP's epoll transport", \
     "$res/nginx-pdp.dat" using 1:2 with lines lw 2 title "auth_request to the PDP", \
     "$res/nginx-zerohttp.dat" using 1:2 with lines lw 2 title "zero-work over HTTP keep-alive, as the PDP", \
     "$res/nginx-pdphttp.dat" using 1:2 with lines lw 2 title "the PDP over HTTP keep-alive"
set title "through nginx at a lighter load (wrk, 1 ms pauses)"
plot "$res/paced-zeromix.dat" using 1:2 with lines lw 2 title "zero-work libfcgi, answering as the PDP", \
     "$res/paced-zeroepoll.dat" using 1:2 with lines lw 2 title "same, on the PDP's epoll transport", \
     "$res/paced-pdp.dat" using 1:2 with lines lw 2 title "auth_request to the PDP", \
     "$res/paced-zerohttp.dat" using 1:2 with lines lw 2 title "zero-work over HTTP keep-alive, as the PDP", \
     "$res/paced-pdphttp.dat" using 1:2 with lines lw 2 title "the PDP over HTTP keep-alive"
set title "direct (pdp-load): FastCGI a new connection per request, HTTP kept alive"
plot "$res/direct-zero-1.cdf" using 1:2 with lines lw 2 title "zero-work libfcgi responder", \
     "$res/direct-pdp-1.cdf" using 1:2 with lines lw 2 title "the PDP over FastCGI", \
     "$res/direct-pdphttp-1.cdf" using 1:2 with lines lw 2 title "the PDP over HTTP"
unset multiplot
GP

# --- Markdown ----------------------------------------------------------------------------
row() { # LABEL JQ_PATH
	q --arg l "$1" "$2"' | "| \($l) | \(.rps) | \(.p50_us) | \(.p90_us) | \(.p99_us) | \(.p999_us) | \(.max_us) | \(.errors) |"'
}
{
	echo "# PDP load-test report"
	echo
	q '"\(.date) on \(.host); \(.version). Settings: \(.settings.users) users and devices, \(.settings.tokens) \(.settings.alg) tokens, \(.settings.policies) policies over \(.settings.apps) apps, the PDP on its \(.settings.pdp_transport) transport with \(.settings.pdp_threads) thread(s), the zero-work libfcgi responder with \(.settings.zero_threads) (libfcgi'"'"'s best on 2 cores); wrk \(.settings.wrk); direct runs with \(.settings.direct_threads) client threads. Medians of \(.settings.rounds) interleaved rounds of \(.settings.seconds_per_run) s; ratios are medians of per-round ratios."'
	echo
	echo "## Targets"
	echo
	echo "| target | want | got | met |"
	echo "|---|---|---|---|"
	# A target with a spread: its per-round least and greatest, and whether they resolve it.
	q '.targets[] | "| \(.name) | \(.want) | \(.got)\(if .spread then " (rounds \(.spread[0]) to \(.spread[1]))" else "" end) | \(if .met then "yes" else "**no**" end)\(if .resolved == false then ", not resolved: the rounds fall on both sides" else "" end) |"'
	echo
	echo "## Throughput and latency (warm caches)"
	echo
	echo "| run | req/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | transport errors |"
	echo "|---|---|---|---|---|---|---|---|"
	row "nginx, no auth" .through_nginx.no_auth
	row "nginx auth_request → internal return 200" .through_nginx.internal_auth
	row "nginx auth_request → zero-work libfcgi (bare 200)" .through_nginx.zero_work
	row "nginx auth_request → zero-work libfcgi answering as the PDP" .through_nginx.zero_work_as_pdp
	row "nginx auth_request → zero-work on the PDP's epoll transport, answering as the PDP" .through_nginx.zero_work_epoll_as_pdp
	row "nginx auth_request → PDP" .through_nginx.pdp
	row "nginx auth_request → PDP over HTTP keep-alive (pdp-auth-http.conf)" .through_nginx.pdp_http
	row "nginx auth_request → zero-work on the PDP's loops over HTTP keep-alive, answering as the PDP" .through_nginx.zero_work_http_as_pdp
	row "nginx auth_request → zero-work libfcgi answering as the PDP, again after the PDP" .through_nginx.zero_work_as_pdp_again
	row "nginx at a lighter load → zero-work libfcgi answering as the PDP" .through_nginx_paced.zero_work_as_pdp
	row "nginx at a lighter load → zero-work on the PDP's epoll transport, answering as the PDP" .through_nginx_paced.zero_work_epoll_as_pdp
	row "nginx at a lighter load → PDP" .through_nginx_paced.pdp
	row "nginx at a lighter load → PDP over HTTP keep-alive" .through_nginx_paced.pdp_http
	row "nginx at a lighter load → zero-work over HTTP keep-alive, answering as the PDP" .through_nginx_paced.zero_work_http_as_pdp
	row "direct → zero-work libfcgi" .direct.zero_work
	row "direct → PDP" .direct.pdp
	row "direct → PDP over HTTP, one kept-alive connection per client thread" .direct.pdp_http
	echo
	q '.ratios | "PDP / zero-work answering as the PDP, through nginx: **\(.pdp_over_zero_work_as_pdp_nginx)** (p99 \(.p99_minus_zero_work_as_pdp_nginx_us) µs apart); PDP / bare zero-work: \(.pdp_over_zero_work_nginx) (p99 \(.p99_minus_zero_work_nginx_us) µs apart); PDP / no auth: \(.pdp_over_no_auth_nginx); PDP / internal auth: \(.pdp_over_internal_nginx); PDP / zero-work on its own epoll transport, answering as the PDP: \(.pdp_over_zero_work_epoll_as_pdp_nginx) (p99 \(.p99_minus_zero_work_epoll_as_pdp_nginx_us) µs apart); PDP / zero-work direct: **\(.pdp_over_zero_work_direct)**. The zero-work responder answering as the PDP, driven twice a round: throughput \(.same_responder_twice_rps)×, p99 \(.same_responder_twice_p99_minus_us) µs (median of the rounds; \(.same_responder_twice_p99_apart_us) µs apart, median of the distances)."'
	echo
	q '"At a lighter load (wrk \(.settings.paced_wrk); \(.through_nginx_paced.load_vs_saturated)× the zero-work responder'"'"'s saturated rate) the queue in front of each server is short, and latency is what the server adds: PDP minus zero-work answering as the PDP, p50 \(.ratios.paced_p50_minus_zero_work_as_pdp_us) µs, p99 **\(.ratios.paced_p99_minus_zero_work_as_pdp_us) µs**; p99 against the zero-work responder on the PDP'"'"'s epoll transport \(.ratios.paced_p99_minus_zero_work_epoll_as_pdp_us) µs. At saturation (32 connections) the tail is the queue'"'"'s: nginx without auth has a p99 of \(.through_nginx.no_auth.p99_us) µs."'
	echo
	q '"The zero-work responder answering as the PDP gives nginx the warm requests'"'"' decision mix (allow:deny:step-up:unauthenticated \(.settings.zero_work_as_pdp_mix)) with answers shaped as the PDP'"'"'s, through deploy/nginx'"'"'s pdp-auth.conf, and decides nothing; against the bare one (always 200) it runs at \(.ratios.zero_work_as_pdp_over_zero_work_nginx)×: nginx'"'"'s own cost of the identity headers and of the error pages for 401 and 403."'
	echo
	q '.http_front | def s: "**\(.median)** (rounds \(.min) to \(.max))"; "The HTTP front (medians of per-round ratios, with the least and greatest round): PDP over HTTP / PDP over FastCGI through nginx \(.pdp_http_over_pdp_fastcgi_nginx | s); / zero-work HTTP responder answering as the PDP \(.pdp_http_over_zero_work_http_as_pdp_nginx | s); / nginx auth_request to an internal return 200 \(.pdp_http_over_internal_nginx | s); at a lighter load, p99 PDP over HTTP − PDP over FastCGI \(.paced_p99_pdp_http_minus_pdp_fastcgi_us | s) µs; direct, PDP over HTTP / over FastCGI \(.pdp_http_over_pdp_fastcgi_direct | s). The PDP accepted \(.connections_accepted) HTTP connections for \(.requests) requests (\(.requests_per_connection) a connection)."'
	echo
	q '.where_the_time_goes | "Where the time goes (direct runs): the zero-work libfcgi responder uses \(.zero_work_cpu_us_per_request) µs of CPU per request (accept, read, answer, close), the PDP \(.pdp_cpu_us_per_request) µs (over HTTP, kept alive: \(.pdp_http_cpu_us_per_request) µs), of which \(.pdp_decide_us_per_decision) µs are the decision itself (pdp_decide, from the PDP'"'"'s own latency histogram); the rest is the transport."'
	echo
	q '"Decision mix of the direct PDP runs: \(.decision_mix_direct | to_entries | map("\(.key) \(.value)") | join(", "))."'
	echo
	echo "![latency distributions](latency.png)"
	echo
	echo "## Scenarios"
	echo
	echo "| scenario | without | with | ratio | notes |"
	echo "|---|---|---|---|---|"
	q '.cold | "| cold tokens, PDP decision time (one client, mean µs, median of \(.rounds) interleaved rounds) | \(.warm_decision_us) warm | \(.first_seen_decision_us) first-seen | +\(.extra_decision_us_per_cold_token) µs = \(.extra_decision_in_rsa_verifies) RSA verifies (\(.rsa2048_verify_us) µs each, openssl speed); \(.extra_decision_in_pdp_verifies) of the PDP'"'"'s own (\(.pdp_rsa_verify_us) µs each, timed inside it); \(.extra_decision_in_responder_timed_verifies) of the verifying responder'"'"'s (\(.responder_rsa_verify_us) µs each, timed inside it) | pdp_decide alone, from the PDP latency histogram |"'
	q '.cold | "| cold tokens, client latency (one client, mean µs, median of \(.rounds) interleaved rounds) | \(.warm_one_client.mean_us) warm | \(.cold_one_client.mean_us) first-seen | +\(.extra_us_per_cold_token) µs = \(.extra_in_responder_verifies) RSA verifies as a responder doing one a request adds (+\(.rsa2048_verify_in_responder_us) µs: \(.zero_work_one_client.mean_us) → \(.zero_work_verify_one_client.mean_us)); \(.extra_in_rsa_verifies) of openssl speed'"'"'s | \(.cold_parallel.rps) first-seen tokens/s with all client threads; \(.store_round_trips_per_cold_token) context-store round trips per first-seen token |"'
	q '.flood | "| invalid-signature flood (valid req/s) | \(.valid_alone.rps) | \(.valid_during_flood.rps) | \(.valid_throughput_ratio) | \(.invalid.rps) invalid req/s beside them, all refused: \(.invalid.decisions.unauthenticated) unauthenticated; valid p99 \(.valid_alone.p99_us) → \(.valid_during_flood.p99_us) µs |"'
	q '.reload_every_100ms | "| policy reload every 100 ms (req/s) | \(.without.rps) | \(.with.rps) | \(.throughput_ratio) | \(.reloads) reloads; errors \(.with.decisions.error) |"'
	q '.decision_log | "| decision log to a file (req/s) | \(.without.rps) | \(.with.rps) | \(.throughput_ratio) | a second PDP with `decision_log` set: CPU \(.cpu_us_per_request_without) → \(.cpu_us_per_request_with) µs a request; \(.lines_written) lines written for \(.decisions) decisions |"'
	q '.revocation_storm | "| revocation storm (req/s) | \(.without.rps) | \(.with.rps) | \(.throughput_ratio) | sessions of \(.users_revoked) users revoked mid-run; \(.requests_refused_as_revoked) requests refused as revoked |"'
	q '.redis_outage | "| Redis killed for a third of the run, then back | | \(.run.rps) | | decisions \(.run.decisions | to_entries | map(select(.value > 0) | "\(.key) \(.value)") | join(", ")); transport errors \(.run.errors); store errors \(.store_errors); health after: \(.health_after) |"'
	echo
	echo "### Policy scale"
	echo
	echo "| policies | req/s | mean µs | p99 µs | decision time vs 50 |"
	echo "|---|---|---|---|---|"
	q '.policy_scale[] | "| \(.policies) | \(.rps) | \(.mean_us) | \(.p99_us) | \(.time_vs_50) |"'
	echo
	echo "### Memory"
	echo
	q '.memory | "RSS \(.rss_mib) MiB with \(.live_tokens) tokens live in the token cache (bound \(.token_cache_bound))."'
} >"$out/report.md"
