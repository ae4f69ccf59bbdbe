#!/usr/bin/env bash
# Installs what is missing, builds, and runs the PDP behind nginx on loopback
# with a sample config; prints curl calls with freshly minted tokens. Ctrl-C (or
# SIGTERM) stops it. Installs and builds only what it runs: the daemon and
# pdp-mint, not the unit tests or the load harness (scripts/test.sh builds those).
# PDP_DEMO_PORT: nginx's port (else a free one); PDP_DEMO_CMAKE_ARGS: more CMake
# options for its build, e.g. "-DCMAKE_BUILD_TYPE=Debug -DPDP_SANITIZE=ON".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh run
echo "building..."
# shellcheck disable=SC2086 # PDP_DEMO_CMAKE_ARGS is a list of options
pdp_build build -DPDP_TESTS=OFF -DPDP_LOADTEST=OFF ${PDP_DEMO_CMAKE_ARGS:-}
bin=$PWD/build/pdp
run=$PWD/run/demo
rm -rf "$run"
mkdir -p "$run"
# The PDP's HTTP front, as deploy/ recommends: nginx keeps its connections open.
sock=$run/pdp-http.sock

pdp_make_keys "$bin" "$run"
# The context store: a throwaway Redis on a unix socket beside the config.
pdp_redis_up "$run"
pdp_write_config "$run" "http+unix:$sock" "store: { type: redis, address: unix:$run/redis.sock, device_max_age: 24h }"
"$bin/pdp" check -c "$run/pdp.yaml"
admin() { "$bin/pdp" admin -c "$run/pdp.yaml" "$@"; }
admin init >/dev/null
admin device set laptop-1 compliant=1 trust=joined platform=windows >/dev/null

"$bin/pdp" serve -c "$run/pdp.yaml" &
pdp_pid=$!
stop() {
	kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$run"
	pdp_redis_down "$run"
}
trap stop EXIT
trap 'exit 0' INT TERM
pdp_wait_socket "$sock" "$pdp_pid"
# nginx with deploy/nginx's HTTP-front snippets (its FastCGI upstream, unused, names a
# socket nothing listens on).
read -r port app_port < <(pdp_nginx_up "$run" "$run/pdp.sock" "${PDP_DEMO_PORT:-}" "$sock")
[ -n "$port" ] || { echo "nginx did not start" >&2; exit 1; }

claims='{"iss":"https://idp.example.com/","aud":"https://apps.example.com","sub":"alice@example.com","groups":["admins","eng"],"amr":["pwd","mfa"]}'
rs=$(pdp_mint "$bin" "$run" RS256 "$claims")
es=$(pdp_mint "$bin" "$run" ES256 "$claims")
expired=$("$bin/pdp-mint" token --alg RS256 --key "$run/rsa-1.pem" --kid rsa-1 --claims "${claims%\}},\"exp\":-60}")
admin_key=$(pdp_mint "$bin" "$run" RS256 '{"iss":"https://idp.example.com/","aud":"https://apps.example.com","sub":"carol@example.com","groups":["admins"],"amr":["hwk"],"deviceid":"laptop-1","jti":"demo-carol-1","auth_time":-60}')
pwd_only=$(pdp_mint "$bin" "$run" RS256 '{"iss":"https://idp.example.com/","aud":"https://apps.example.com","sub":"bob@example.com","amr":["pwd"]}')

echo "asking the PDP for a sample of decisions, for pdp report..."
sample=$(pdp_sample_traffic "$bin" "$run" "http://127.0.0.1:$port")

cat <<MSG

The PDP is answering nginx at http://127.0.0.1:$port over its HTTP front (config: $run/pdp.yaml).

  # allowed: the app sees who is calling
  curl -i -H 'Authorization: Bearer $rs' http://127.0.0.1:$port/
  curl -i -H 'Authorization: Bearer $es' http://127.0.0.1:$port/

  # no token: 401 with a Bearer challenge (a browser is sent to /signin instead)
  curl -i http://127.0.0.1:$port/

  # expired token: 401 invalid_token
  curl -i -H 'Authorization: Bearer $expired' http://127.0.0.1:$port/

  # conditional access (policies in $run/policies, reloaded when you edit them):
  # password only, outside trusted networks: 401 step-up (RFC 9470) asking for the
  # acr_values of the mfa strength (policies/20-strengths.yaml); a browser is sent
  # to /signin with them
  curl -i -H 'Authorization: Bearer $pwd_only' http://127.0.0.1:$port/
  # the admin portal needs phishing-resistant MFA on a compliant device: 403 deny
  curl -i -H 'Host: admin.example.com' -H 'Authorization: Bearer $rs' http://127.0.0.1:$port/

  # continuous access evaluation (records in Redis, applied at the next request):
  # carol signs in with a security key on compliant laptop-1: allowed
  curl -i -H 'Host: admin.example.com' -H 'Authorization: Bearer $admin_key' http://127.0.0.1:$port/
  # the MDM marks laptop-1 non-compliant: the same request is now denied
  $bin/pdp admin -c $run/pdp.yaml device set laptop-1 compliant=0
  # carol's sessions are revoked: 401 invalid_token "session revoked"
  $bin/pdp admin -c $run/pdp.yaml user revoke carol@example.com
  # or just this token: $bin/pdp admin -c $run/pdp.yaml jti revoke demo-carol-1 --ttl 1h
  # is the PDP healthy (policies loaded, Redis answering)?
  curl -s http://127.0.0.1:$port/pdp/health

  # why? every policy and the decision
  $bin/pdp explain $run/policies --claims '{sub: alice@example.com, groups: [admins], amr: [pwd, mfa]}' --url https://admin.example.com/ --ip 127.0.0.1

  # evidence: what the policies did ($sample sample requests are in the decision log
  # already), and what enforcing the report-only hr-compliant-device-trial would change
  $bin/pdp report -c $run/pdp.yaml
  $bin/pdp report -c $run/pdp.yaml --html $run/report.html
  # the policy set against the Zero Trust checklist, by CISA ZTMM v2 pillar and stage
  $bin/pdp coverage -c $run/pdp.yaml

Decisions are logged to $run/decisions.jsonl; Redis listens on $run/redis.sock.

Mint more with: $bin/pdp-mint token --alg RS256 --key $run/rsa-1.pem --kid rsa-1 --claims '$claims'
Press Ctrl-C to stop.
MSG
wait "$pdp_pid"
