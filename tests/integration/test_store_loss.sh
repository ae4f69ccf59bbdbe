#!/usr/bin/env bash
# A context store that lost its data, or stalled, is never read as "no record":
# the real daemon behind a real nginx (deploy/nginx snippets), reading real
# redis-servers on loopback (deploy/redis configs, paths moved to a temp dir).
#   a. Redis restarted empty: revocations are not forgotten (on_store_error), health
#      says why, pdp admin refuses to write, and pdp admin init brings it back.
#   b. FLUSHALL: the same.
#   c. A replica SIGSTOPped: changes at the primary are enforced within the heartbeat
#      bound plus stale_max, health is not ok; SIGCONT restores. A stopped primary
#      shows as the replica's silent link.
#   d. The primary's config (AOF): a revocation survives a crash of the primary; a
#      second `jti revoke` never shortens one.
#   e. Records restored without events under the old marker (after FLUSHALL, after a
#      restart): the revoked jtis the PDP mirrored are enforced again.
# usage: test_store_loss.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_store_loss.sh BIN_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/scripts/lib.sh"
. "$root/tests/integration/assert.sh"
. "$root/tests/integration/requests.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-store-loss-XXXXXX")
sock=$work/pdp.sock
pdp_pid=""
redises=()

cleanup() {
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$work"
	for r in "${redises[@]}"; do
		[ -f "$work/$r.pid" ] && kill -CONT "$(cat "$work/$r.pid")" 2>/dev/null
		redis_down "$r"
	done
	rm -rf "$work"
}
trap cleanup EXIT

# redis_up NAME CONF [args]: redis-server with deploy/redis/CONF, on the unix socket
# WORK/NAME.sock, its files in WORK/NAME (no TCP unless args say so); waits until it
# answers (a replica: until it has synced).
redis_up() {
	local name=$1 conf=$2
	shift 2
	mkdir -p "$work/$name"
	rm -f "$work/$name.sock"
	redis-server "$root/deploy/redis/$conf" --port 0 --unixsocket "$work/$name.sock" \
		--unixsocketperm 700 --dir "$work/$name" --daemonize yes \
		--pidfile "$work/$name.pid" --logfile "$work/$name.log" "$@" || return 1
	[[ " ${redises[*]} " == *" $name "* ]] || redises+=("$name")
	for _ in $(seq 1 100); do
		if redis-cli -s "$work/$name.sock" info replication 2>/dev/null | tr -d '\r' |
			grep -qE '^role:master|^master_link_status:up'; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# redis_down NAME [SIGNAL]: stops it (TERM by default; KILL for a crash) and waits.
redis_down() { pdp_redis_down "$work" "${2:-TERM}" "$1"; }

# Records serve 2 s into an outage; the store is checked every 500 ms and declared
# stalled when an answer takes more than 1 s.
stale_s=2
# pdp_up STORE_SOCKET: (re)starts the PDP reading the Redis on STORE_SOCKET.
pdp_up() {
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	rm -f "$sock"
	pdp_write_config "$work" "$sock" "store:
  type: redis
  address: unix:$1
  timeout: 100ms
  stale_max: ${stale_s}s
  heartbeat: 500ms
  heartbeat_timeout: 1s
  ttl: 5m
  negative_ttl: 5m
  on_store_error: deny"
	"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
	pdp_pid=$!
	pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
}

# admin_at NAME ARGS...: pdp admin against the Redis NAME; output in admin.log.
admin_at() {
	local name=$1
	shift
	"$bin/pdp" admin --address "unix:$work/$name.sock" "$@" >>"$work/admin.log" 2>&1
}

pdp_make_keys "$bin" "$work"
# allowed_any TOKEN HOST: asks 20 times, 50 ms apart, and prints every answer that was 200.
allowed_any() {
	for _ in $(seq 1 20); do
		[ "$(status "$1" "$2")" = 200 ] && echo 200
		sleep 0.05
	done
}

# === a. Redis restarted empty ====================================================
redis_up solo pdp-local.conf --replicaof no one || { echo "redis-server did not start"; exit 1; }
pdp_up "$work/solo.sock"
read -r port _ < <(pdp_nginx_up "$work" "$sock") || { echo "nginx did not start"; exit 1; }
[ -n "$port" ] || { echo "nginx did not start"; exit 1; }
url=http://127.0.0.1:$port

expect_match "a fresh store without its marker is not ready" \
	'"status":"degraded".*context store not ready: no generation marker.* 503$' \
	"$(until_health 503 'no generation marker')"
out=$("$bin/pdp" admin --address "unix:$work/solo.sock" user disable mallory@example.com 2>&1)
expect "pdp admin refuses to write to a store without its marker (exit 1)" 1 "$?"
expect_match "and says why" 'no generation marker pdp:generation.*pdp admin init' "$out"
admin_at solo init
expect_match "pdp admin init: ready" '"status":"ok".* 200$' "$(until_health 200)"
out=$("$bin/pdp" admin --address "unix:$work/solo.sock" init 2>&1)
expect "pdp admin init refuses a store that has its marker (exit 1)" 1 "$?"

# revoke WHERE [--ignore-generation]: mallory disabled, bob's sessions revoked, two
# jtis revoked, and carol_cold's jti and oscar (never seen by the PDP before a loss).
revoke() {
	admin_at "$1" "${@:2}" device set dev-1 compliant=1 trust=joined platform=windows
	admin_at "$1" "${@:2}" user disable mallory@example.com
	admin_at "$1" "${@:2}" user revoke bob@example.com
	admin_at "$1" "${@:2}" jti revoke j-carol-1 --ttl 1h
	for j in j-cold-a j-cold-b; do admin_at "$1" "${@:2}" jti revoke "$j" --ttl 1h; done
	for u in oscar-a oscar-b; do admin_at "$1" "${@:2}" user disable "$u@example.com"; done
}
revoke solo
sleep 1.1 # tokens issued after bob's revocation
alice=$(token alice@example.com dev-1 j-alice-1)
mallory=$(token mallory@example.com dev-1 j-mallory-1)
carol=$(token carol@example.com dev-1 j-carol-1)
carol_cold=$(token carol@example.com dev-1 j-cold-a)
oscar=$(token oscar-a@example.com dev-1 j-oscar-a)
dave=$(token dave@example.com dev-1 j-dave-1)
expect "before: alice allowed" 200 "$(until_status 200 "$alice" admin.example.com)"
expect "before: disabled mallory denied" 403 "$(status "$mallory" intranet.example.com)"
expect "before: revoked jti refused" 401 "$(status "$carol" intranet.example.com)"

# lost NAME WHAT: after the store NAME lost its data, nothing revoked is allowed.
lost() {
	expect "$2: a revoked jti the PDP never saw is not allowed" "" \
		"$(allowed_any "$carol_cold" intranet.example.com)"
	expect "$2: a disabled user the PDP never saw is not allowed" "" \
		"$(allowed_any "$oscar" intranet.example.com)"
	expect "$2: disabled mallory is not allowed" "" "$(allowed_any "$mallory" intranet.example.com)"
	expect "$2: a revoked jti is not allowed" "" "$(allowed_any "$carol" intranet.example.com)"
	expect "$2: a subject never seen gets on_store_error (403)" 403 "$(status "$dave" intranet.example.com)"
	expect_match "$2: the deny says the store" 'X-PDP-Reason: store: context store unavailable' \
		"$(headers "$dave" intranet.example.com)"
	expect_match "$2: health says the store lost its data" \
		'"status":"degraded".*not ready: .*generation marker.* 503$' \
		"$(until_health 503 'generation marker')"
	metrics=$(curl -s -m 5 "$url/pdp/metrics")
	expect "$2: metrics: pdp_store_ready 0" 0 "$(pdp_metric pdp_store_ready "$metrics")"
	out=$("$bin/pdp" admin --address "unix:$work/$1.sock" user enable mallory@example.com 2>&1)
	expect "$2: pdp admin refuses to write (exit 1)" 1 "$?"
	expect_match "$2: and says the marker is missing" 'no generation marker' "$out"
	# Restored: the records written again, then the marker.
	revoke "$1" --ignore-generation
	admin_at "$1" init
	expect_match "$2: restored and initialised: health ok" '"status":"ok".* 200$' "$(until_health 200)"
	expect "$2: restored: a subject never seen is allowed again" 200 \
		"$(until_status 200 "$dave" intranet.example.com)"
	expect "$2: restored: mallory still denied" 403 "$(status "$mallory" intranet.example.com)"
	expect "$2: restored: the cold jti refused" 401 "$(status "$carol_cold" intranet.example.com)"
	expect "$2: restored: the cold user denied" 403 "$(status "$oscar" intranet.example.com)"
}

redis_down solo
redis_up solo pdp-local.conf --replicaof no one || { echo "redis-server did not restart"; exit 1; }
lost solo "restarted empty"

# === b. FLUSHALL =================================================================
expect "before FLUSHALL: alice allowed" 200 "$(status "$alice" admin.example.com)"
carol_cold=$(token carol@example.com dev-1 j-cold-b)
oscar=$(token oscar-b@example.com dev-1 j-oscar-b)
redis-cli -s "$work/solo.sock" flushall >/dev/null
lost solo "FLUSHALL"

# === e. restored without events, under the same marker ==========================
# restored_raw NAME WHAT GEN: the records and then the marker GEN written straight
# into the store NAME (a bulk load, RESTORE, redis-cli --pipe: no events): the
# revocations the PDP mirrored before the loss are enforced again.
restored_raw() {
	local R=(redis-cli -s "$work/$1.sock")
	expect_match "$2: not ready" '"status":"degraded".*generation marker.* 503$' \
		"$(until_health 503 'generation marker')"
	"${R[@]}" set pdp:jti:j-carol-1 1 EX 3600 >/dev/null
	"${R[@]}" hset pdp:device:dev-1 compliant 1 trust joined platform windows \
		updated "$(date +%s)" >/dev/null
	"${R[@]}" set pdp:generation "$3" >/dev/null
	expect_match "$2, restored raw: health ok" '"status":"ok".* 200$' "$(until_health 200)"
	expect "$2, restored raw: the jti is revoked in the store" 1 \
		"$("${R[@]}" exists pdp:jti:j-carol-1)"
	expect "$2, restored raw: the revoked jti is refused (401)" 401 \
		"$(status "$carol" intranet.example.com)"
	expect "$2, restored raw: alice allowed" 200 "$(until_status 200 "$alice" admin.example.com)"
}
expect "before: the revoked jti refused" 401 "$(status "$carol" intranet.example.com)"
gen=$(redis-cli -s "$work/solo.sock" get pdp:generation)
redis-cli -s "$work/solo.sock" flushall >/dev/null
expect_match "FLUSHALL again: not ready" '"status":"degraded".*generation marker.* 503$' \
	"$(until_health 503 'generation marker')"
admin_at solo flush # asks the PDPs to start over (allowed without the marker)
restored_raw solo "FLUSHALL and pdp admin flush" "$gen"
redis_down solo
redis_up solo pdp-local.conf --replicaof no one || { echo "redis-server did not restart"; exit 1; }
restored_raw solo "restarted empty" "$gen"
redis_down solo

# === c. a stalled replica ========================================================
pport=$(pdp_free_port)
redis_up primary pdp-primary.conf --port "$pport" --bind 127.0.0.1 ||
	{ echo "primary did not start"; exit 1; }
redis_up replica pdp-local.conf --replicaof 127.0.0.1 "$pport" ||
	{ echo "replica did not sync"; exit 1; }
admin_at primary init
admin_at primary device set dev-1 compliant=1 trust=joined platform=windows
pdp_up "$work/replica.sock"
expect_match "replica: ready" '"status":"ok".* 200$' "$(until_health 200)"
erin=$(token erin@example.com dev-1 j-erin-1)
expect "replica: alice allowed (compliant device)" 200 "$(until_status 200 "$alice" admin.example.com)"
expect "replica: erin allowed" 200 "$(status "$erin" intranet.example.com)"

kill -STOP "$(cat "$work/replica.pid")"
admin_at primary device set dev-1 compliant=0
admin_at primary user revoke erin@example.com
# Enforced within heartbeat + heartbeat_timeout (1.5 s) and stale_max (2 s) of the
# last answered heartbeat: asked for up to 8 s.
expect "replica stopped: the non-compliant device is denied within the bound" 403 \
	"$(until_status 403 "$alice" admin.example.com 400)"
expect "replica stopped: the revoked user is not allowed within the bound" "" \
	"$(until_status 403 "$erin" intranet.example.com 400 >/dev/null; allowed_any "$erin" intranet.example.com)"
expect_match "replica stopped: health is not ok" '"status":"degraded".*not ready: .* 503$' \
	"$(until_health 503 'not ready')"
metrics=$(curl -s -m 5 "$url/pdp/metrics")
expect "replica stopped: metrics: pdp_store_ready 0" 0 "$(pdp_metric pdp_store_ready "$metrics")"
expect_match "replica stopped: metrics: counted" '^pdp_store_not_ready_total [1-9]' "$metrics"
kill -CONT "$(cat "$work/replica.pid")"
expect_match "replica resumed: health ok" '"status":"ok".* 200$' "$(until_health 200)"
expect "replica resumed: the device is still denied (it caught up)" 403 "$(status "$alice" admin.example.com)"
expect "replica resumed: the user's session revoked (401)" 401 "$(status "$erin" intranet.example.com)"
admin_at primary device set dev-1 compliant=1
expect "replica resumed: events flow again" 200 "$(until_status 200 "$alice" admin.example.com)"

# The primary stopped: the replica answers, but says its primary is silent.
kill -STOP "$(cat "$work/primary.pid")"
expect_match "primary stopped: health names the replica's silent link" \
	'"status":"degraded".*not ready: replica: nothing heard from its primary.* 503$' \
	"$(until_health 503 'nothing heard from its primary')"
kill -CONT "$(cat "$work/primary.pid")"
expect_match "primary resumed: health ok" '"status":"ok".* 200$' "$(until_health 200)"
redis_down replica

# === d. the primary's AOF keeps revocations through a crash =======================
pdp_up "$work/primary.sock"
expect_match "primary: ready" '"status":"ok".* 200$' "$(until_health 200)"
admin_at primary user disable alice@example.com
admin_at primary jti revoke j-erin-2 --ttl 1h
erin2=$(token erin@example.com dev-1 j-erin-2)
redis_down primary KILL
redis_up primary pdp-primary.conf --port "$pport" --bind 127.0.0.1 ||
	{ echo "primary did not restart"; exit 1; }
expect_match "primary restarted from its AOF: ready (the marker survived)" '"status":"ok".* 200$' \
	"$(until_health 200)"
expect "primary restarted: the disabled user is still denied" 403 \
	"$(status "$alice" intranet.example.com)"
expect "primary restarted: the revoked jti is still refused" 401 "$(status "$erin2" intranet.example.com)"
expect "primary restarted: a subject never seen is allowed" 200 "$(status "$dave" intranet.example.com)"

# A second `jti revoke` never shortens a revocation; a longer one extends it.
pttl_over() { # KEY MS: prints "yes" when KEY expires more than MS from now
	local t
	t=$(redis-cli -s "$work/primary.sock" pttl "$1")
	[ "$t" -gt "$2" ] && echo yes
}
admin_at primary jti revoke j-erin-3 --ttl 1h
erin3=$(token erin@example.com dev-1 j-erin-3)
expect "jti revoked for 1h" 401 "$(until_status 401 "$erin3" intranet.example.com)"
admin_at primary jti revoke j-erin-3 --ttl 1s
expect "revoked again for 1s: the 1 h expiry is kept" yes "$(pttl_over pdp:jti:j-erin-3 3500000)"
sleep 1.5
expect "revoked again for 1s: still refused after 1.5 s" 401 "$(status "$erin3" intranet.example.com)"
admin_at primary jti revoke j-erin-4 --ttl 1s
admin_at primary jti revoke j-erin-4 --ttl 1h
expect "revoked for 1s, then 1h: extended" yes "$(pttl_over pdp:jti:j-erin-4 3500000)"

kill -0 "$pdp_pid" 2>/dev/null && ok "the PDP is still running" || not_ok "the PDP died"
stop_pdp_checked

echo "# test_store_loss: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
