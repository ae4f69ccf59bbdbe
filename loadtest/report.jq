# report.jq: turns the runs of loadtest/run.sh (one object, keyed by run label) into
# report.json: medians of interleaved rounds, ratios taken within each round (so load
# from elsewhere on the machine cancels out), the scenarios, and the targets met.
def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
# Rounded; null (nothing measured) stays null.
def r1: if . == null then null else . * 10 | round / 10 end;
def r3: if . == null then null else . * 1000 | round / 1000 end;

$runs[0] as $R
| [range(1; $rounds + 1) | tostring] as $rs
| def series($p): [$rs[] | $R[$p + "-" + .]];
  # Counts (decisions, statuses) added up over objects.
  def merged: reduce .[] as $d ({}; . as $acc | reduce ($d | keys[]) as $k ($acc; .[$k] += $d[$k]));
  def med($p; f): [series($p)[] | f] | median;
  def summary($p): {
	rps: med($p; .rps) | r1,
	p50_us: med($p; .latency_us.p50), p90_us: med($p; .latency_us.p90),
	p99_us: med($p; .latency_us.p99), p999_us: med($p; .latency_us.p999),
	max_us: med($p; .latency_us.max), errors: ([series($p)[] | .errors] | add),
	status: ([series($p)[] | .status] | merged)
  };
  # The median over rounds of a / b, and of a - b, each pair from the same round.
  def ratio($a; $b; f): [$rs[] | ($R[$a + "-" + .] | f) / ($R[$b + "-" + .] | f)] | median | r3;
  def diff($a; $b; f): [$rs[] | ($R[$a + "-" + .] | f) - ($R[$b + "-" + .] | f)] | median;
  # The same with its run-to-run spread: the median, least and greatest of the per-round
  # figures (a target is resolved when all rounds fall on the same side of it).
  def spread: {median: median, min: min, max: max, rounds: length};
  def ratio_spread($a; $b; f): [$rs[] | ($R[$a + "-" + .] | f) / ($R[$b + "-" + .] | f)]
	| spread | map_values(r3);
  def diff_spread($a; $b; f): [$rs[] | ($R[$a + "-" + .] | f) - ($R[$b + "-" + .] | f)] | spread;
  def requests($p): [series($p)[] | .requests] | add;
  def one($l): $R[$l] | {rps: (.rps | r1), mean_us: .latency_us.mean, p50_us: .latency_us.p50,
	p99_us: .latency_us.p99, max_us: .latency_us.max, decisions, status, errors};
  # one() over the rounds of $p: medians of the figures, sums of the counts.
  def over_rounds($p): {rps: med($p; .rps) | r1, mean_us: med($p; .latency_us.mean) | r1,
	p50_us: med($p; .latency_us.p50), p99_us: med($p; .latency_us.p99),
	max_us: med($p; .latency_us.max), decisions: ([series($p)[] | .decisions] | merged),
	status: ([series($p)[] | .status] | merged), errors: ([series($p)[] | .errors] | add)};
  ([$rs[] | $R["cold-single-" + .].latency_us.mean - $R["cold-warm-" + .].latency_us.mean]
	| median) as $extra
| ($cold_decisions | map(.cold - .warm) | median) as $extra_decision
# The same in the PDP's own RS256 checks, timed inside it in the same round.
| ($cold_decisions | map(select(.verify != null) | (.cold - .warm) / .verify) | median)
	as $extra_in_own_verifies
# And in the verifying responder's, timed inside it in the same round: one verify in a
# server driven as the PDP is, without the PDP's own work around it.
| ($cold_decisions | map(select(.zero_verify != null) | (.cold - .warm) / .zero_verify) | median)
	as $extra_in_responder_timed
| ([$rs[] | $R["cold-zeroverify-" + .].latency_us.mean - $R["cold-zero-" + .].latency_us.mean]
	| median) as $verify_in_responder
# One verify in `openssl speed`'s loop, run in each round after the others.
| ($cold_decisions | map(select(.speed_per_s > 0) | 1e6 / .speed_per_s) | median) as $verify_us
| ($cold_decisions | map(select(.speed_per_s > 0) | (.cold - .warm) * .speed_per_s / 1e6) | median)
	as $extra_in_speed_verifies
| [50, 10, 100, 1000, 10000] as $sizes
| {
	date: $date, host: $host, version: $pdp_version,
	settings: {rounds: $rounds, seconds_per_run: $seconds, users: $users, devices: $users,
		tokens: $tokens, policies: 50, apps: 1000, alg: "RS256", pdp_threads: $pdp_threads,
		pdp_transport: $transport, zero_threads: $threads, wrk: "2 threads, 32 connections", direct_threads: $threads,
		paced_wrk: "2 threads, \($paced_conns) connections, each pausing 1 ms before each request",
		zero_work_as_pdp_mix: $zero_mix},
	through_nginx: {
		no_auth: summary("nginx-noauth"), internal_auth: summary("nginx-internal"),
		zero_work: summary("nginx-zero"), zero_work_as_pdp: summary("nginx-zeromix"),
		zero_work_epoll_as_pdp: summary("nginx-zeroepoll"),
		pdp: summary("nginx-pdp"),
		# The same PDP over its HTTP front, and the zero-work responder on the PDP's loops
		# over HTTP answering as the PDP (pdp-auth-http.conf, upstreams kept alive).
		pdp_http: summary("nginx-pdphttp"), zero_work_http_as_pdp: summary("nginx-zerohttp"),
		zero_work_as_pdp_again: summary("nginx-zeromix2")
	},
	# A lighter load: each connection pauses 1 ms before each request.
	through_nginx_paced: {
		connections: $paced_conns, pause_ms: 1,
		zero_work_as_pdp: summary("paced-zeromix"), zero_work_epoll_as_pdp: summary("paced-zeroepoll"),
		pdp: summary("paced-pdp"),
		pdp_http: summary("paced-pdphttp"), zero_work_http_as_pdp: summary("paced-zerohttp"),
		load_vs_saturated: ratio("paced-zeromix"; "nginx-zeromix"; .rps)
	},
	direct: {zero_work: summary("direct-zero"), pdp: summary("direct-pdp"),
		pdp_http: summary("direct-pdphttp")},
	# The PDP over its HTTP front against the same PDP over FastCGI, the zero-work HTTP
	# responder and nginx's internal return 200: each the median of per-round ratios (or
	# differences) with their least and greatest, the run-to-run spread.
	http_front: {
		pdp_http_over_pdp_fastcgi_nginx: ratio_spread("nginx-pdphttp"; "nginx-pdp"; .rps),
		pdp_http_over_zero_work_http_as_pdp_nginx: ratio_spread("nginx-pdphttp"; "nginx-zerohttp"; .rps),
		pdp_http_over_internal_nginx: ratio_spread("nginx-pdphttp"; "nginx-internal"; .rps),
		paced_p99_pdp_http_minus_pdp_fastcgi_us: diff_spread("paced-pdphttp"; "paced-pdp"; .latency_us.p99),
		pdp_http_over_pdp_fastcgi_direct: ratio_spread("direct-pdphttp"; "direct-pdp"; .rps),
		# Connections the PDP accepted on its HTTP front over the rounds above, against the
		# requests it answered there: nginx and the direct clients keep them open.
		connections_accepted: $http_accepted,
		requests: (requests("nginx-pdphttp") + requests("paced-pdphttp") + requests("direct-pdphttp")),
		requests_through_nginx: (requests("nginx-pdphttp") + requests("paced-pdphttp")),
		requests_per_connection: (if $http_accepted > 0 then (requests("nginx-pdphttp")
			+ requests("paced-pdphttp") + requests("direct-pdphttp")) / $http_accepted | r1 else null end)
	},
	# zero_work_as_pdp: the zero-work responder answering nginx as the PDP does (the
	# same decision mix, headers and error pages): what the targets are judged against.
	ratios: {
		pdp_over_zero_work_as_pdp_nginx: ratio("nginx-pdp"; "nginx-zeromix"; .rps),
		p99_minus_zero_work_as_pdp_nginx_us:
			diff("nginx-pdp"; "nginx-zeromix"; .latency_us.p99),
		zero_work_as_pdp_over_zero_work_nginx: ratio("nginx-zeromix"; "nginx-zero"; .rps),
		# The same responder on the PDP's epoll transport: how close the PDP is to that limit.
		pdp_over_zero_work_epoll_as_pdp_nginx: ratio("nginx-pdp"; "nginx-zeroepoll"; .rps),
		p99_minus_zero_work_epoll_as_pdp_nginx_us:
			diff("nginx-pdp"; "nginx-zeroepoll"; .latency_us.p99),
		paced_p50_minus_zero_work_as_pdp_us: diff("paced-pdp"; "paced-zeromix"; .latency_us.p50),
		paced_p99_minus_zero_work_as_pdp_us: diff("paced-pdp"; "paced-zeromix"; .latency_us.p99),
		paced_p99_minus_zero_work_epoll_as_pdp_us: diff("paced-pdp"; "paced-zeroepoll"; .latency_us.p99),
		pdp_over_zero_work_nginx: ratio("nginx-pdp"; "nginx-zero"; .rps),
		pdp_over_no_auth_nginx: ratio("nginx-pdp"; "nginx-noauth"; .rps),
		pdp_over_internal_nginx: ratio("nginx-pdp"; "nginx-internal"; .rps),
		pdp_over_zero_work_direct: ratio("direct-pdp"; "direct-zero"; .rps),
		p99_minus_zero_work_nginx_us:
			diff("nginx-pdp"; "nginx-zero"; .latency_us.p99),
		# The zero-work responder answering as the PDP, driven twice in each round: how far
		# apart two runs of the same server are, the resolution of the figures above. The
		# first is the p99 target's own figure with the responder in the PDP's place.
		same_responder_twice_p99_minus_us: diff("nginx-zeromix2"; "nginx-zeromix"; .latency_us.p99),
		same_responder_twice_p99_apart_us: ([$rs[] | $R["nginx-zeromix2-" + .].latency_us.p99
			- $R["nginx-zeromix-" + .].latency_us.p99 | if . < 0 then -. else . end] | median),
		same_responder_twice_rps: ratio("nginx-zeromix2"; "nginx-zeromix"; .rps)
	},
	where_the_time_goes: {
		zero_work_cpu_us_per_request: ($zero_cpu_us / ([series("direct-zero")[] | .requests] | add) | r1),
		pdp_cpu_us_per_request: ($pdp_cpu_us / ([series("direct-pdp")[] | .requests] | add) | r1),
		pdp_http_cpu_us_per_request: ($pdp_http_cpu_us / requests("direct-pdphttp") | r1),
		pdp_decide_us_per_decision: ($decision_us | r1)
	},
	decision_mix_direct: ([series("direct-pdp")[] | .decisions] | merged),
	cold: {
		rounds: ($cold_decisions | length),
		warm_one_client: over_rounds("cold-warm"), cold_one_client: over_rounds("cold-single"),
		cold_parallel: one("cold-parallel"),
		extra_us_per_cold_token: ($extra | r1),
		rsa2048_verify_us: ($verify_us | r1),
		extra_in_rsa_verifies: (if $verify_us then $extra / $verify_us | r3 else null end),
		# One RSA verify as a client sees it: a zero-work responder with one a request, less one without.
		zero_work_one_client: over_rounds("cold-zero"), zero_work_verify_one_client: over_rounds("cold-zeroverify"),
		rsa2048_verify_in_responder_us: ($verify_in_responder | r1),
		extra_in_responder_verifies:
			(if $verify_in_responder > 0 then $extra / $verify_in_responder | r3 else null end),
		warm_decision_us: ($cold_decisions | map(.warm) | median | r1),
		first_seen_decision_us: ($cold_decisions | map(.cold) | median | r1),
		extra_decision_us_per_cold_token: ($extra_decision | r1),
		extra_decision_in_rsa_verifies: ($extra_in_speed_verifies | r3),
		pdp_rsa_verify_us: ($cold_decisions | map(select(.verify != null) | .verify) | median | r1),
		extra_decision_in_pdp_verifies: ($extra_in_own_verifies | r3),
		responder_rsa_verify_us: ($cold_decisions | map(select(.zero_verify != null) | .zero_verify)
			| median | r1),
		extra_decision_in_responder_timed_verifies: ($extra_in_responder_timed | r3),
		store_round_trips_per_cold_token:
			($cold_fetches / ([series("cold-single")[] | .requests] | add) | r3)
	},
	flood: {
		rate_each: $R["flood-alone"].rps, valid_alone: one("flood-alone"),
		valid_during_flood: one("flood-valid"), invalid: one("flood-invalid"),
		valid_throughput_ratio: ($R["flood-valid"].rps / $R["flood-alone"].rps | r3)
	},
	reload_every_100ms: {
		without: one("reload-base"), "with": one("reload"), reloads: $reloads,
		throughput_ratio: ($R["reload"].rps / $R["reload-base"].rps | r3)
	},
	# The same PDP writing a line a decision to a file, against the PDP without.
	decision_log: {
		without: one("dlog-base"), "with": one("dlog"),
		throughput_ratio: ($R["dlog"].rps / $R["dlog-base"].rps | r3),
		cpu_us_per_request_without: ($dlog_base_cpu_us / $R["dlog-base"].requests | r1),
		cpu_us_per_request_with: ($dlog_cpu_us / $R["dlog"].requests | r1),
		lines_written: $dlog_lines, decisions: ($R["dlog-warmup"].requests + $R["dlog"].requests)
	},
	revocation_storm: {
		without: one("storm-base"), "with": one("storm"), users_revoked: $storm_users,
		requests_refused_as_revoked: $storm_revoked,
		throughput_ratio: ($R["storm"].rps / $R["storm-base"].rps | r3)
	},
	redis_outage: {run: one("outage"), store_errors: $store_errors, health_after: $health_after},
	policy_scale: [$sizes[] as $n | {
		policies: $n, rps: med("policies-\($n)"; .rps) | r1,
		mean_us: med("policies-\($n)"; .latency_us.mean),
		p99_us: med("policies-\($n)"; .latency_us.p99),
		time_vs_50: ratio("policies-\($n)"; "policies-50"; .latency_us.mean)
	}],
	memory: {live_tokens: $live_tokens, rss_mib: ($rss_kib / 1024 | r1),
		token_cache_bound: 131072}
}
| .targets = [
	{name: "through nginx: PDP / zero-work libfcgi responder (answering as the PDP) throughput", want: ">= 0.95",
		got: .ratios.pdp_over_zero_work_as_pdp_nginx, met: (.ratios.pdp_over_zero_work_as_pdp_nginx >= 0.95)},
	{name: "through nginx at saturation (32 connections): PDP p99 - zero-work libfcgi (answering as the PDP) p99 (us)",
		want: "<= 100", got: .ratios.p99_minus_zero_work_as_pdp_nginx_us,
		met: (.ratios.p99_minus_zero_work_as_pdp_nginx_us <= 100)},
	{name: "through nginx at a lighter load (\($paced_conns) connections, 1 ms pauses): PDP p99 - zero-work libfcgi (answering as the PDP) p99 (us)",
		want: "<= 100", got: .ratios.paced_p99_minus_zero_work_as_pdp_us,
		met: (.ratios.paced_p99_minus_zero_work_as_pdp_us <= 100)},
	# The HTTP front: got is the median of the rounds, spread their least and greatest;
	# resolved: every round on the same side of the target (else the machine cannot tell).
	(.http_front.pdp_http_over_pdp_fastcgi_nginx | {
		name: "through nginx at saturation: PDP over HTTP / PDP over FastCGI throughput", want: ">= 1.5",
		got: .median, spread: [.min, .max], met: (.median >= 1.5), resolved: ((.min >= 1.5) == (.max >= 1.5))}),
	(.http_front.pdp_http_over_zero_work_http_as_pdp_nginx | {
		name: "through nginx at saturation: PDP over HTTP / zero-work HTTP responder on the PDP's loops (answering as the PDP) throughput",
		want: ">= 0.95", got: .median, spread: [.min, .max], met: (.median >= 0.95),
		resolved: ((.min >= 0.95) == (.max >= 0.95))}),
	(.http_front.paced_p99_pdp_http_minus_pdp_fastcgi_us | {
		name: "through nginx at a lighter load (\($paced_conns) connections, 1 ms pauses): PDP over HTTP p99 - PDP over FastCGI p99 (us)",
		want: "<= 0", got: .median, spread: [.min, .max], met: (.median <= 0),
		resolved: ((.min <= 0) == (.max <= 0))}),
	{name: "direct: PDP / zero-work libfcgi responder throughput", want: ">= 0.90",
		got: .ratios.pdp_over_zero_work_direct, met: (.ratios.pdp_over_zero_work_direct >= 0.90)},
	{name: "cold token: extra PDP decision time, in RSA-2048 verifies", want: "<= 1.5",
		got: .cold.extra_decision_in_rsa_verifies,
		met: (.cold.extra_decision_in_rsa_verifies != null and .cold.extra_decision_in_rsa_verifies <= 1.5)},
	{name: "cold token: extra PDP decision time, in the PDP's own RSA-2048 verifies (timed inside it, same rounds)", want: "<= 1.5",
		got: .cold.extra_decision_in_pdp_verifies,
		met: (.cold.extra_decision_in_pdp_verifies != null and .cold.extra_decision_in_pdp_verifies <= 1.5)},
	{name: "cold token: extra PDP decision time, in RSA-2048 verifies timed inside the verifying responder (same rounds)", want: "<= 1.5",
		got: .cold.extra_decision_in_responder_timed_verifies,
		met: (.cold.extra_decision_in_responder_timed_verifies != null and .cold.extra_decision_in_responder_timed_verifies <= 1.5)},
	{name: "cold token: extra client latency, in RSA-2048 verifies as a responder doing one a request adds", want: "<= 1.5",
		got: .cold.extra_in_responder_verifies,
		met: (.cold.extra_in_responder_verifies != null and .cold.extra_in_responder_verifies <= 1.5)},
	{name: "flood: valid throughput during / without", want: ">= 0.8",
		got: .flood.valid_throughput_ratio, met: (.flood.valid_throughput_ratio >= 0.8)},
	{name: "10,000 policies: decision time / 50 policies", want: "<= 2",
		got: (.policy_scale[] | select(.policies == 10000) | .time_vs_50),
		met: ((.policy_scale[] | select(.policies == 10000) | .time_vs_50) <= 2)},
	{name: "RSS with every token live (MiB)", want: "<= 256",
		got: .memory.rss_mib, met: (.memory.rss_mib <= 256)},
	{name: "no transport error or 500 in any run, no reset nginx saw", want: "0",
		got: (([$R[] | .errors + (.status["500"] // 0) + (.status["502"] // 0)] | add) + $upstream_resets),
		met: ((([$R[] | .errors + (.status["500"] // 0) + (.status["502"] // 0)] | add) + $upstream_resets) == 0)}
]
