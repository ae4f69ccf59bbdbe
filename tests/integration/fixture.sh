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
