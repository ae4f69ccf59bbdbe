#!/usr/bin/env bash
# Reload safety through the real nginx: an emptied, cut, half-written or deleted policy file
# or context.yaml never becomes what the PDP serves, and a change that would drop enforced
# policies, revocations or disabled users wholesale waits for SIGHUP or `pdp reload`.
# usage: test_reload.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_reload.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-reload-XXXXXX")
sock=$work/pdp.sock
pdp_pid=""
probe_pid=""
sleeper=""

cleanup() {
	[ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null && wait "$probe_pid" 2>/dev/null
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null && wait "$sleeper" 2>/dev/null
	[ -n "$pdp_pid" ] && kill "$pdp_pid" 2>/dev/null && wait "$pdp_pid" 2>/dev/null
	pdp_stop_nginx "$work"
	rm -rf "$work"
}
trap cleanup EXIT

pdp_make_keys "$bin" "$work"
context_full='devices:
  - { id: dev-9, compliant: true, trust: joined }
users:
  - { id: mallory@example.com, disabled: true }
  - { id: eve@example.com, disabled: true }
revoked_jtis: [j-rev-1, j-rev-2, j-rev-3]
'
printf '%s' "$context_full" >"$work/context.yaml"
# A settle window well above the pause of the two-halves writer below, on a busy machine too.
pdp_write_config "$work" "$sock" "store: { type: file, path: context.yaml }
reload: { settle: 1s, max_drop: 50% }
pid_file: pdp.pid"
baseline=$(pdp_root)/policies/30-baseline.yaml
# A name planted beside the pid file (a symlink in a shared directory) is never followed.
printf 'keep\n' >"$work/victim"
ln -s "$work/victim" "$work/pdp.pid.tmp"
"$bin/pdp" check -c "$work/pdp.yaml" >/dev/null || { echo "pdp check failed"; exit 1; }
"$bin/pdp" serve -c "$work/pdp.yaml" 2>>"$work/pdp.log" &
pdp_pid=$!
pdp_wait_socket "$sock" "$pdp_pid" || { echo "pdp did not start:"; cat "$work/pdp.log"; exit 1; }
read -r port _ < <(pdp_nginx_up "$work" "$sock") || { echo "nginx did not start"; exit 1; }
[ -n "$port" ] || { echo "nginx did not start"; exit 1; }
url=http://127.0.0.1:$port

iss=https://idp.example.com/
aud=https://apps.example.com
token() { # SUB [more claims]
	pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"$1\",\"groups\":[\"admins\"],\"amr\":[\"pwd\",\"mfa\"]${2:-}}"
}
admin_tok=$(token alice@example.com)
mallory=$(token mallory@example.com)
revoked2=$(token alice@example.com ',"jti":"j-rev-2"')
revoked3=$(token alice@example.com ',"jti":"j-rev-3"')
status_at() { # URL TOKEN [curl args]
	local at=$1 tok=$2; shift 2
	curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $tok" "$@" "$at"
}
# The admin portal for an admin with MFA but no compliant device: the baseline denies it,
# and without the baseline default_decision (allow) would answer 200.
admin() { status_at "$url/users" "$admin_tok" -H "Host: admin.example.com"; }
app() { status_at "$url/app" "$1"; }
metrics() { curl -s -m 5 "$url/pdp/metrics"; }
# metric_delta NAME BEFORE AFTER: how much the sample grew (absent counts as 0).
metric_delta() {
	local a b
	a=$(pdp_metric "$1" "$2")
	b=$(pdp_metric "$1" "$3")
	echo $((${b:-0} - ${a:-0}))
}
log_count() { pdp_log_count "$work/pdp.log" "$1"; }
# wait_log PATTERN BEFORE: waits up to 15 s until PATTERN has more lines than BEFORE.
wait_log() { pdp_wait_log "$work/pdp.log" "$1" "$2"; }
# after_change PATTERN COMMAND...: runs the change, then waits for the log line it should cause.
after_change() { pdp_after_change "$work/pdp.log" "$@"; }
put_baseline() { cp "$baseline" "$work/policies/.30-baseline.tmp" && mv "$work/policies/.30-baseline.tmp" "$work/policies/30-baseline.yaml"; }
put_context() { printf '%s' "$1" >"$work/.context.tmp" && mv "$work/.context.tmp" "$work/context.yaml"; }
revision_of_dir() { "$bin/pdp" check "$work/policies" | sed -n 's/.*revision \([0-9a-f]*\)).*/\1/p'; }
last_revision() { grep -o 'policies reloaded: policy revision [0-9a-f]*' "$work/pdp.log" | tail -1 | awk '{print $NF}'; }

expect "the pid file holds the daemon's pid" "$pdp_pid" "$(cat "$work/pdp.pid")"
expect "a symlink planted beside the pid file: its target is untouched" keep "$(cat "$work/victim")"
expect "before: the admin portal denies an admin without a compliant device" 403 "$(admin)"
expect "before: disabled mallory is denied" 403 "$(app "$mallory")"
expect "before: a revoked jti gets 401" 401 "$(app "$revoked2")"

# --- policy files --------------------------------------------------------------------
after_change 'policy reload failed' truncate -s 0 "$work/policies/30-baseline.yaml"
expect_match "an emptied policy file is an error, with file:line:col and the fix" \
	'policy reload failed, the last good set keeps serving: .*/30-baseline.yaml:1:1: the file holds nothing \(empty, or only comments\); write "policies: \[\]"' \
	"$(cat "$work/pdp.log")"
expect "an emptied policy file: the admin portal is still denied" 403 "$(admin)"
after_change 'policies reloaded' put_baseline

after_change 'policy reload failed' sh -c "printf 'policies:\n' >'$work/policies/30-baseline.yaml'"
expect_match "a policy file cut after its first line is an error" \
	'policy reload failed.*30-baseline.yaml:1:1: policies has no value; write "policies: \[\]"' \
	"$(cat "$work/pdp.log")"
expect "a policy file cut to 'policies:': the admin portal is still denied" 403 "$(admin)"
after_change 'policies reloaded' put_baseline

after_change 'policy reload failed' sh -c "printf '# policies:\n#   - id: off\n' >'$work/policies/30-baseline.yaml'"
expect "a comment-only policy file: the admin portal is still denied" 403 "$(admin)"
after_change 'policies reloaded' put_baseline
expect "the baseline back: still denied" 403 "$(admin)"

# Deleting the file would drop every enforced policy: refused until confirmed.
m0=$(metrics)
after_change 'policy reload refused' rm "$work/policies/30-baseline.yaml"
expect_match "a deleted baseline is refused, saying what it would drop and how to confirm" \
	'policy reload refused, the last good set keeps serving: revision [0-9a-f]{16} would drop 5 of 5 enforced policies \[block-embargoed, mfa-outside-trusted, admins-strong-auth, high-risk-password-change, payroll-write-frequency\] \(more than reload.max_drop 50%\); if this is meant, confirm with `pdp reload -c CONFIG` or SIGHUP' \
	"$(cat "$work/pdp.log")"
expect "a deleted baseline: the admin portal is still denied" 403 "$(admin)"
m1=$(metrics)
refused='pdp_reload_refused_total{what="policies"}'
expect "the refusal is counted in pdp_reload_refused_total" 1 "$(metric_delta "$refused" "$m0" "$m1")"
after_change 'policies reloaded' kill -HUP "$pdp_pid"
expect "SIGHUP confirms the removal: the set without the baseline serves" 200 "$(admin)"
after_change 'policies reloaded' put_baseline
expect "adding the baseline back needs no confirmation" 403 "$(admin)"
after_change 'policy reload refused' rm "$work/policies/30-baseline.yaml"
out=$(after_change 'policies reloaded' "$bin/pdp" reload -c "$work/pdp.yaml")
expect "pdp reload -c signals the daemon named by pid_file" 0 "$?"
expect_match "pdp reload says what it did" "asked pid $pdp_pid to reload" "$out"
expect "pdp reload confirms the removal" 200 "$(admin)"
after_change 'policies reloaded' put_baseline
expect "the baseline back again: denied" 403 "$(admin)"

# A file written in two halves, the pause shorter than the settle window: the first half
# (every baseline policy but the admin one, a valid smaller set) must never serve.
half1=$(sed '/- id: admins-strong-auth/,/^$/d' "$baseline")
half2=$(sed -n '/- id: admins-strong-auth/,/^$/p' "$baseline")
probe_what=admin # what the probe asks
probe() { # $probe_what's answers, every 20 ms, until the stop file appears (at most 30 s)
	for _ in $(seq 1 1500); do
		[ -e "$work/probe.stop" ] && break
		"$probe_what"
		echo
		sleep 0.02
	done >"$work/probe.out"
}
# never_served NAME WRITER: runs WRITER (which rewrites the baseline) while the admin portal
# is probed; no probe may get 200, and one reload, of the whole file, follows.
never_served() {
	local name=$1 before
	shift
	rm -f "$work/probe.stop"
	probe & probe_pid=$!
	sleep 0.2
	before=$(log_count 'policies reloaded')
	"$@"
	wait_log 'policies reloaded' "$before"
	sleep 0.3
	touch "$work/probe.stop"
	wait "$probe_pid"
	probe_pid=""
	expect "$name: no part of the file served (no 200 among $(grep -c . "$work/probe.out") probes)" \
		"403" "$(sort -u "$work/probe.out" | tr '\n' ' ' | sed 's/ $//')"
	expect "$name: one reload, of the whole file" "1 $(revision_of_dir)" \
		"$(($(log_count 'policies reloaded') - before)) $(last_revision)"
	after_change 'policies reloaded' put_baseline
}
write_in_halves() {
	printf '%s\n\n' "$half1" >"$work/policies/30-baseline.yaml"
	sleep 0.3
	printf '%s\n' "$half2" >>"$work/policies/30-baseline.yaml"
}
never_served "two halves" write_in_halves

# An editor that empties the file, then writes it in pieces over longer than the settle
# window, each pause shorter: its writes keep the window moving; the close ends it.
write_slowly() {
	: >"$work/policies/30-baseline.yaml"
	{
		printf '%s\n\n' "$half1"
		for _ in 1 2 3 4 5 6; do
			sleep 0.3
			printf '# still writing\n'
		done
		printf '%s\n' "$half2"
	} >>"$work/policies/30-baseline.yaml"
}
never_served "a slow writer" write_slowly

# An explicit reload (SIGHUP; `systemctl reload` right after a copy) while a file is still
# open and being written, in a pause longer than the two reads' gap: it confirms the reload
# that follows the write, and never reads the half written so far.
write_with_sighup() {
	exec 3>"$work/policies/30-baseline.yaml"
	printf '%s\n\n' "$half1" >&3
	sleep 0.2
	kill -HUP "$pdp_pid"
	sleep 0.6
	printf '%s\n' "$half2" >&3
	exec 3>&-
}
never_served "SIGHUP while a policy file is half written" write_with_sighup
expect_match "the SIGHUP waited for the write, and said so" \
	'explicit reload: a policy file being written; the confirmed reload follows when writes settle' \
	"$(cat "$work/pdp.log")"

# --- context.yaml --------------------------------------------------------------------
after_change 'context store reload failed' truncate -s 0 "$work/context.yaml"
expect_match "an emptied context.yaml is an error with file:line:col" \
	'context store reload failed, the last good records keep serving: .*context.yaml:1:1: the file holds nothing' \
	"$(cat "$work/pdp.log")"
expect "an emptied context.yaml: disabled mallory is still denied" 403 "$(app "$mallory")"
expect "an emptied context.yaml: the revoked jti is still refused" 401 "$(app "$revoked2")"
after_change 'context store reload failed' sh -c "printf 'users:\n' >'$work/context.yaml'"
expect "context.yaml cut to 'users:': mallory still denied" 403 "$(app "$mallory")"
expect "context.yaml cut to 'users:': the revoked jti still refused" 401 "$(app "$revoked2")"

# A valid file that drops every revocation and disabled user: refused until confirmed.
m0=$(metrics)
after_change 'context store reload refused' put_context $'devices:\n  - { id: dev-9, compliant: true, trust: joined }\n'
expect_match "dropping every revocation is refused, saying what and how to confirm" \
	'context store reload refused, the last good records keep serving: would drop 3 of 3 revocations \[j-rev-1, j-rev-2, j-rev-3\] and 2 of 2 disabled users \[eve@example.com, mallory@example.com\].*confirm with `pdp reload' \
	"$(cat "$work/pdp.log")"
expect "refused: mallory still denied" 403 "$(app "$mallory")"
expect "refused: the revoked jti still refused" 401 "$(app "$revoked2")"
m1=$(metrics)
refused='pdp_reload_refused_total{what="store"}'
expect "the store's refusal is counted" 1 "$(metric_delta "$refused" "$m0" "$m1")"
after_change 'context store reloaded' "$bin/pdp" reload -c "$work/pdp.yaml" >/dev/null
expect "pdp reload confirms: mallory's record is gone" 200 "$(app "$mallory")"
expect "pdp reload confirms: the jti is no longer revoked" 200 "$(app "$revoked2")"
after_change 'context store reloaded' put_context "$context_full"
expect "adding revocations back needs no confirmation: mallory denied" 403 "$(app "$mallory")"
expect "adding revocations back: the jti refused again" 401 "$(app "$revoked2")"

# Removing even one revocation of three (or one disabled user) is not a normal edit: a cut
# or bad write must never lift a revocation, whatever reload.max_drop allows.
after_change 'context store reload refused' put_context "${context_full/, j-rev-3]/]}"
expect_match "one revocation of three removed: refused, naming it and why max_drop does not apply" \
	'refused, the last good records keep serving: would drop 1 of 3 revocations \[j-rev-3\] and 0 of 2 disabled users \[\] \(any such drop needs a confirm; reload.max_drop does not apply to them\)' \
	"$(cat "$work/pdp.log")"
expect "one revocation of three removed, unconfirmed: the jti is still refused" 401 "$(app "$revoked3")"
no_eve=$(printf '%s' "$context_full" | grep -v eve@)
after_change 'context store reload refused' put_context "$no_eve"
expect_match "one disabled user of two removed: refused" \
	'would drop 0 of 3 revocations \[\] and 1 of 2 disabled users \[eve@example.com\]' \
	"$(cat "$work/pdp.log")"
eve=$(token eve@example.com)
expect "one disabled user removed, unconfirmed: eve is still denied" 403 "$(app "$eve")"
after_change 'context store reloaded' kill -HUP "$pdp_pid"
expect "SIGHUP confirms: eve's record is gone" 200 "$(app "$eve")"
expect "and every revocation in the file holds" 401 "$(app "$revoked3")"
after_change 'context store reloaded' put_context "$context_full"
expect "eve disabled again, without confirmation" 403 "$(app "$eve")"

# A normal edit that adds and changes records, dropping no revocation, applies at once.
revoked4=$(token alice@example.com ',"jti":"j-rev-4"')
expect "before the edit: j-rev-4 is not revoked" 200 "$(app "$revoked4")"
after_change 'context store reloaded' put_context "${context_full/compliant: true/compliant: false}"
after_change 'context store reloaded' put_context "${context_full/j-rev-3]/j-rev-3, j-rev-4]}"
expect "a revocation added: applied at once" 401 "$(app "$revoked4")"
expect "the other revocations still hold" 401 "$(app "$revoked2")"

# SIGHUP while context.yaml is half written: the half (no revoked_jtis yet) never serves;
# the whole file then applies as confirmed, so the one revocation it drops (j-rev-1) goes.
revoked1=$(token alice@example.com ',"jti":"j-rev-1"')
probe_revoked2() { app "$revoked2"; }
write_context_with_sighup() {
	exec 3>"$work/context.yaml"
	printf '%s' "${context_full%%revoked_jtis:*}" >&3
	sleep 0.2
	kill -HUP "$pdp_pid"
	sleep 0.6
	printf 'revoked_jtis: [j-rev-2, j-rev-3]\n' >&3
	exec 3>&-
}
probe_what=probe_revoked2
rm -f "$work/probe.stop"
probe & probe_pid=$!
sleep 0.2
before=$(log_count 'context store reloaded')
write_context_with_sighup
wait_log 'context store reloaded' "$before"
sleep 0.3
touch "$work/probe.stop"
wait "$probe_pid"
probe_pid=""
expect "SIGHUP while context.yaml is half written: the revoked jti stays refused throughout" \
	"401" "$(sort -u "$work/probe.out" | tr '\n' ' ' | sed 's/ $//')"
expect "one store reload, after the write" 1 "$(($(log_count 'context store reloaded') - before))"
expect "the whole file applied as confirmed: the revocation it drops is gone" 200 "$(app "$revoked1")"
expect "and mallory is still denied" 403 "$(app "$mallory")"
probe_what=admin

# --- pdp reload refuses a pid that is not the daemon -----------------------------
# refused_pid WHAT: `pdp reload --pid` of $sleeper, another program, is refused and sends
# nothing; then $sleeper is stopped.
refused_pid() {
	local out
	out=$("$bin/pdp" reload --pid "$sleeper" 2>&1)
	expect "pdp reload --pid of $1: refused" 1 "$?"
	expect_match "and says why" "pid $sleeper is not a running pdp serve" "$out"
	expect "that program was not signalled" 0 "$(kill -0 "$sleeper" 2>/dev/null; echo $?)"
	kill "$sleeper" 2>/dev/null
	wait "$sleeper" 2>/dev/null
	sleeper=""
}
sleep 30 & sleeper=$!
refused_pid "another program"
# A reused pid now running another program's `serve` (`hugo serve`, `mkdocs serve`).
mkfifo "$work/serve"
(cd "$work" && exec -a hugo cat serve) & sleeper=$!
for _ in $(seq 1 100); do
	[ "$(tr '\0' ' ' <"/proc/$sleeper/cmdline" 2>/dev/null)" = "hugo serve " ] && break
	sleep 0.02
done
refused_pid "another program's 'serve'"
sed -i '/^pid_file:/d' "$work/pdp.yaml"
out=$("$bin/pdp" reload -c "$work/pdp.yaml" 2>&1)
expect_match "pdp reload -c without pid_file says what to do" "names no pid_file \(or give --pid PID\)" "$out"

kill "$pdp_pid"
wait "$pdp_pid"
expect "clean exit on SIGTERM" 0 "$?"
pdp_pid=""
expect "the pid file is removed at exit" 1 "$([ -e "$work/pdp.pid" ]; echo $?)"

echo "reload: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
