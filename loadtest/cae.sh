#!/usr/bin/env bash
# Continuous access evaluation benchmark: starts a Redis and the PDP (sample
# policies, Redis store) on loopback, then measures with pdp-bench-cae how long a
# revocation takes from PUBLISH to the first decision that reflects it, and
# counts Redis's commands during a warm run. Everything stops at the end.
# usage: loadtest/cae.sh [BUILD_DIR] [ROUNDS] [WARM_DECISIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
build=${1:-$root/build}
rounds=${2:-200}
warm=${3:-20000}

pdp_build "$build" -DCMAKE_BUILD_TYPE=Release -DPDP_LOADTEST=ON
bin=$build/pdp
work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-cae-XXXXXX")
pdp_pid=""
cleanup() {
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_redis_down "$work"
	rm -rf "$work"
}
trap cleanup EXIT

pdp_redis_up "$work"
pdp_make_keys "$bin" "$work" >/dev/null
pdp_write_config "$work" "$work/pdp.sock" "store: { type: redis, address: unix:$work/redis.sock }"
"$bin/pdp" admin -c "$work/pdp.yaml" init >/dev/null
"$bin/pdp" serve -c "$work/pdp.yaml" 2>"$work/pdp.log" &
pdp_pid=$!
pdp_wait_socket "$work/pdp.sock" "$pdp_pid"
pdp_mint "$bin" "$work" RS256 '{"iss":"https://idp.example.com/","aud":"https://apps.example.com","sub":"cae-user@example.com","jti":"cae-jti-1","amr":["pwd","mfa"],"exp":7200}' >"$work/token"
# Measure once the PDP has subscribed to the events channel.
for _ in $(seq 1 100); do
	grep -q 'events flowing' "$work/pdp.log" && break
	sleep 0.05
done
"$build/loadtest/pdp-bench-cae" --pdp "unix:$work/pdp.sock" --redis "$work/redis.sock" \
	--token "$work/token" --user cae-user@example.com --jti cae-jti-1 \
	--rounds "$rounds" --warm "$warm"
