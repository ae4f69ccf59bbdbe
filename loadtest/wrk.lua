-- wrk.lua: requests drawn from pdp-loadgen's requests file (TOKEN HOST URI IP per
-- line), each thread from its own offset; answers counted by status; done()
-- prints one JSON line with throughput, latency percentiles and a latency
-- distribution for the chart.
-- usage: wrk -s loadtest/wrk.lua URL -- REQUESTS_FILE LABEL [PAUSE_MS]
-- With PAUSE_MS each connection waits that long before each request: a load
-- lighter than the server's limit, where latency is the server's and not the queue's.

local threads = {}
local n_threads = 0

function setup(thread)
	thread:set("id", n_threads)
	n_threads = n_threads + 1
	table.insert(threads, thread)
end

function init(args)
	reqs = {}
	statuses = {}
	for line in io.lines(args[1]) do
		local tok, host, uri, ip = line:match("^(%S+) (%S+) (%S+) (%S+)")
		if tok then
			reqs[#reqs + 1] = wrk.format("GET", uri, {
				["Host"] = host,
				["Authorization"] = "Bearer " .. tok,
				["X-Forwarded-For"] = ip,
			})
		end
	end
	label = args[2] or "nginx"
	local pause = tonumber(args[3] or "0")
	if pause > 0 then
		function delay()
			return pause
		end
	end
	i = (id * 7919) % #reqs
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
	local counts = {}
	local label_ = "nginx"
	for _, t in ipairs(threads) do
		label_ = t:get("label")
		for s, n in pairs(t:get("statuses")) do
			counts[s] = (counts[s] or 0) + n
		end
	end
	local parts = {}
	for s, n in pairs(counts) do
		parts[#parts + 1] = string.format('"%d":%d', s, n)
	end
	local cdf = {}
	for _, p in ipairs({1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 98, 99, 99.5, 99.9, 99.99}) do
		cdf[#cdf + 1] = string.format("[%d,%.4f]", latency:percentile(p), p / 100)
	end
	local e = summary.errors
	local seconds = summary.duration / 1e6
	io.write(string.format(
		'{"label":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,' ..
		'"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
		'"status":{%s},"errors":%d,"cdf":[%s]}\n',
		label_, summary.requests, seconds, summary.requests / seconds,
		latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency:percentile(99.9), latency.max, table.concat(parts, ","),
		e.connect + e.read + e.write + e.timeout, table.concat(cdf, ",")))
end
