# Requests through nginx, shared by the context-store tests: tokens, answers, health,
# and a checked stop. Source it after assert.sh; the functions read bin, work, url (the
# nginx base URL) and pdp_pid when called.

iss=https://idp.example.com/
aud=https://apps.example.com
# token USER DEVICE JTI [extra claims]: an admin signed in with a security key.
token() {
	pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"$1\",\"deviceid\":\"$2\",\"jti\":\"$3\",\"groups\":[\"admins\"],\"amr\":[\"hwk\"],\"auth_time\":-60${4:-}}"
}
# status TOKEN HOST: what nginx answers for a request to HOST with the token.
status() { curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $1" -H "Host: $2" "$url/"; }
headers() { curl -s -D - -o /dev/null -m 5 -H "Authorization: Bearer $1" -H "Host: $2" "$url/"; }
health() { curl -s -m 5 -w ' %{http_code}' "$url/pdp/health"; }
# until_status WANT TOKEN HOST [TRIES]: asks up to TRIES times (50 unless given), 20 ms
# apart, until the answer is WANT; prints the last answer. Events apply in about a
# millisecond; this only absorbs scheduling, and caches live for minutes, so a change
# seen here came from the event.
until_status() {
	local got
	for _ in $(seq 1 "${4:-50}"); do
		got=$(status "$2" "$3")
		[ "$got" = "$1" ] && break
		sleep 0.02
	done
	echo "$got"
}
# until_health WANT [PATTERN]: waits up to 8 s for the health status code (and an
# answer matching PATTERN).
until_health() {
	local got
	for _ in $(seq 1 160); do
		got=$(health)
		[ "${got##* }" = "$1" ] && grep -qE -- "${2:-.}" <<<"$got" && break
		sleep 0.05
	done
	echo "$got"
}
# stop_pdp_checked: stops the PDP (pdp_pid) with SIGTERM, expecting a clean exit and no
# sanitizer report in WORK/pdp.log.
stop_pdp_checked() {
	kill "$pdp_pid" && wait "$pdp_pid"
	expect "pdp exits cleanly on SIGTERM" 0 "$?"
	pdp_pid=""
	if grep -qE 'AddressSanitizer|runtime error' "$work/pdp.log"; then
		not_ok "sanitizer reports in pdp.log" "$(cat "$work/pdp.log")"
	else
		ok "no sanitizer reports"
	fi
}
