#!/usr/bin/env bash
# Installs what is missing, builds, and runs the PDP behind nginx on loopback
# with a sample config; prints curl calls with freshly minted tokens. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh
echo "building..."
pdp_build build
bin=$PWD/build/pdp
run=$PWD/run/demo
rm -rf "$run"
mkdir -p "$run"
sock=$run/pdp.sock
port=${PDP_DEMO_PORT:-$(pdp_free_port)}
app_port=$(pdp_free_port)

pdp_make_keys "$bin" "$run"
pdp_write_config "$run" "$sock"
pdp_write_nginx "$run" "$port" "$app_port" "$sock"
"$bin/pdp" check -c "$run/pdp.yaml"

"$bin/pdp" serve -c "$run/pdp.yaml" &
pdp_pid=$!
stop() {
	kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$run"
}
trap stop EXIT
trap 'exit 0' INT TERM
pdp_wait_socket "$sock" "$pdp_pid"
pdp_start_nginx "$run"

claims='{"iss":"https://idp.example.com/","aud":"https://apps.example.com","sub":"alice@example.com","groups":["admins","eng"],"amr":["pwd","mfa"]}'
rs=$(pdp_mint "$bin" "$run" RS256 "$claims")
es=$(pdp_mint "$bin" "$run" ES256 "$claims")
expired=$("$bin/pdp-mint" token --alg RS256 --key "$run/rsa-1.pem" --kid rsa-1 --claims "${claims%\}},\"exp\":-60}")

cat <<MSG

The PDP is answering nginx at http://127.0.0.1:$port (config: $run/pdp.yaml).

  # allowed: the app sees who is calling
  curl -i -H 'Authorization: Bearer $rs' http://127.0.0.1:$port/
  curl -i -H 'Authorization: Bearer $es' http://127.0.0.1:$port/

  # no token: 401 with a Bearer challenge (a browser is sent to /signin instead)
  curl -i http://127.0.0.1:$port/

  # expired token: 401 invalid_token
  curl -i -H 'Authorization: Bearer $expired' http://127.0.0.1:$port/

Mint more with: $bin/pdp-mint token --alg RS256 --key $run/rsa-1.pem --kid rsa-1 --claims '$claims'
Press Ctrl-C to stop.
MSG
wait "$pdp_pid"
