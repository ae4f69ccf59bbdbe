# The set-up shared by tests that run the PDP behind nginx: a work directory, the
# PDP's socket path in it, and a trap that stops the PDP (pdp_pid) and nginx and
# removes the directory at exit. Source it after scripts/lib.sh.

# fixture_start NAME: sets work, sock and pdp_pid, and installs the trap.
fixture_start() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-$1-XXXXXX")
	sock=$work/pdp.sock
	pdp_pid=""
	trap fixture_cleanup EXIT
}

fixture_cleanup() {
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$work"
	rm -rf "$work"
}

# fixture_serve: starts "$bin/pdp serve" on $work/pdp.yaml (stderr to $work/pdp.log),
# sets pdp_pid and waits for the socket; exits the test if the PDP does not come up.
fixture_serve() {
	"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
	pdp_pid=$!
	pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
}

# fixture_nginx: nginx with deploy/nginx's snippets in front of the PDP (pdp_nginx_up);
# sets port, app_port and url, or exits the test.
fixture_nginx() {
	read -r port app_port < <(pdp_nginx_up "$work" "$sock")
	[ -n "${port:-}" ] || { echo "nginx did not start"; exit 1; }
	url=http://127.0.0.1:$port
}

# fixture_reload_changes N INTERVAL TEXT: N changes of the policies, INTERVAL seconds
# apart: TEXT written to policies/40-reload.yaml and the file removed, in turn, each
# followed by a SIGHUP. Prints how many reloads the PDP logged meanwhile.
fixture_reload_changes() {
	local n=$1 interval=$2 text=$3 before i
	before=$(pdp_log_count "$work/pdp.log" 'policies reloaded')
	for i in $(seq 1 "$n"); do
		if [ $((i % 2)) = 1 ]; then printf '%s' "$text" >"$work/policies/40-reload.yaml"
		else rm -f "$work/policies/40-reload.yaml"; fi
		kill -HUP "$pdp_pid"
		sleep "$interval"
	done
	echo $(($(pdp_log_count "$work/pdp.log" 'policies reloaded') - before))
}
