#!/usr/bin/env bash
# A real OpenID provider (oidc-provider from npm, tests/idp) over TLS with a private CA on
# loopback, and the PDP behind nginx with deploy/nginx's snippets taking its keys from it:
# discovery, a PDP started before the provider, key rotation and removal, an outage, forged
# kids, TLS and discovery failures, jwks_file swaps under load, and check's https rule.
# usage: test_idp.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_idp.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
idp=$(cd "$here/../idp" && pwd)
. "$here/../../scripts/lib.sh"
. "$here/assert.sh"
. "$here/fixture.sh"
. "$here/requests.sh" # status, until_status

command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed (scripts/deps.sh test)"; exit 1; }

fixture_start idp
idp_pid=""
load_pids=()
idp_cleanup() {
	for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null && wait "$idp_pid" 2>/dev/null
	fixture_cleanup
}
trap idp_cleanup EXIT

# --- the provider's packages: npm ci once per lock file (offline afterwards) ---------
lock_sum=$(sha256sum "$idp/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$idp/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
	(cd "$idp" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
		{ echo "npm ci in tests/idp failed:"; cat "$work/npm.log"; exit 1; }
	echo "$lock_sum" >"$idp/node_modules/.lock-sha256"
fi

# --- a private CA and the provider's certificate for 127.0.0.1 and localhost ---------
(
	cd "$work" &&
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
			-subj "/CN=PDP test CA" -addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
			-days 2 -extfile server.ext
) >"$work/openssl.log" 2>&1 || { echo "openssl failed:"; cat "$work/openssl.log"; exit 1; }

# --- signing keys: the provider's first and second sets, a third for files, a forger's --
keys() { node "$idp/keys.js" "$@"; }
for k in k1 k2 k3 forger; do
	keys gen "$k" "$work/$k.json" && keys public "$work/$k.json" "$work/$k.pub.json" ||
		{ echo "key generation failed"; exit 1; }
done

idp_port=$(pdp_free_port)
issuer=https://127.0.0.1:$idp_port
aud=https://api.test
host=api.test
now=$(date +%s)
other_aud=https://other.test
idp_log=$work/idp-requests.log
touch "$idp_log"

# idp_up KEYS: starts the provider signing with the private JWKS KEYS; waits until it listens.
idp_up() {
	local before
	before=$(pdp_log_count "$work/idp.log" '^listening on' 2>/dev/null || echo 0)
	node "$idp/provider.js" --issuer "$issuer" --port "$idp_port" --cert "$work/server.pem" \
		--key "$work/server.key" --jwks "$1" --log "$idp_log" --resources "$aud,$other_aud" \
		>>"$work/idp.log" 2>&1 &
	idp_pid=$!
	pdp_wait_log "$work/idp.log" '^listening on' "${before:-0}" || { echo "the provider did not start:"; cat "$work/idp.log"; exit 1; }
}
idp_down() {
	kill "$idp_pid" && wait "$idp_pid"
	idp_pid=""
}
# idp_token [RESOURCE]: an access token (a JWT) for the client, by client credentials.
idp_token() {
	curl -s -m 5 --cacert "$work/ca.pem" -u svc-reports:svc-reports-secret -d grant_type=client_credentials \
		-d "resource=${1:-$aud}" -d scope=api "$issuer/token" | jq -r '.access_token // empty'
}
# kid_of TOKEN: the kid of its header.
kid_of() {
	local h
	h=$(cut -d. -f1 <<<"$1" | tr '_-' '/+')
	while [ $((${#h} % 4)) -ne 0 ]; do h+="="; done
	base64 -d <<<"$h" 2>/dev/null | jq -r '.kid // empty'
}
jwks_gets() { grep -c '^GET /jwks$' "$idp_log"; }

# PDP runs: each writes pdp.yaml with ISSUERS (YAML list items) and serves it on $sock.
mkdir -p "$work/policies"
cat >"$work/policies/apps.yaml" <<'YAML'
apps:
  - id: api
    name: The API
    hosts: [api.test]
policies: []
YAML
pdp_run() { # ISSUERS
	cat >"$work/pdp.yaml" <<YAML
listen: unix:$sock
threads: 2
policies: policies
default_decision: allow
realm: pdp-test
log_level: debug
decision_log: decisions.jsonl
issuers:
$1
YAML
	rm -f "$sock"
	fixture_serve
}
pdp_stop() { # RUN
	kill "$pdp_pid" && wait "$pdp_pid"
	expect "$1: pdp exits cleanly on SIGTERM" 0 "$?"
	pdp_pid=""
}

body() { curl -s -m 5 -H "Host: api.test" -H "Authorization: Bearer $1" "$url/"; }
health_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$url/pdp/health"; }
# issuer_health ISSUER: the issuer's entry of the health JSON (compact), or nothing.
issuer_health() { curl -s -m 5 "$url/pdp/health" | jq -c --arg i "$1" '.issuers[]? | select(.issuer == $i)' 2>/dev/null; }
metric() { pdp_metric "$1" "$(curl -s -m 5 "$url/pdp/metrics")"; }
fetches() { metric "pdp_jwks_fetch_total{issuer=\"$1\",result=\"$2\"}"; }
# until_issuer ISSUER JQ_TEST: polls health up to 20 s until the issuer's entry passes the
# test; prints the last entry.
until_issuer() {
	local got
	for _ in $(seq 1 200); do
		got=$(issuer_health "$1")
		[ -n "$got" ] && [ "$(jq -r "$2" <<<"$got" 2>/dev/null)" = true ] && break
		sleep 0.1
	done
	echo "$got"
}
# at_least N VALUE: "yes" when VALUE is a number >= N.
at_least() { [[ ${2:-} =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$2" -v n="$1" 'BEGIN { exit !(v >= n) }' && echo yes || echo "no (${2:-absent})"; }

# A token from the provider's first key, and one for an audience the PDP does not take,
# taken before the PDP starts.
idp_up "$work/k1.json"
tok1=$(idp_token)
tok_other=$(idp_token "$other_aud")
idp_down
expect "the provider issues a JWT access token signed by its key k1" k1 "$(kid_of "$tok1")"
expect "the provider issues a token for the other audience" k1 "$(kid_of "$tok_other")"

# === b. discovery with the private CA; the PDP starts before the provider ===============
# discovery_issuer ISSUER: the config of an issuer found by discovery, trusting the private CA.
discovery_issuer() {
	printf '  - issuer: %s\n    audiences: [%s]\n    discovery: true\n    tls_ca_file: ca.pem\n' "$1" "$aud"
	printf '    algorithms: [RS256]\n    jwks_refresh: 2s\n    jwks_min_refetch: 1s\n'
}
pdp_run "$(discovery_issuer "$issuer")"
fixture_nginx

expect "b: the provider down: its token is answered 500 (nginx fails closed)" 500 "$(status "$tok1" $host)"
got=$(until_issuer "$issuer" '.last_fetch.result == "network"')
expect "b: health says the issuer is not ready" false "$(jq -r '.ready' <<<"$got")" "$got"
expect "b: health shows the failed fetch as network" network "$(jq -r '.last_fetch.result' <<<"$got")" "$got"
expect "b: health's key source is discovery" discovery "$(jq -r '.keys' <<<"$got")" "$got"
expect "b: health is 503 while an issuer has no keys" 503 "$(health_code)"
expect "b: still 500 while keys are unavailable" 500 "$(status "$tok1" $host)"
for _ in $(seq 1 100); do
	grep -q 'keys unavailable' "$work/decisions.jsonl" "$work/pdp.log" 2>/dev/null && break
	sleep 0.05
done
expect_match "b: the reason is keys unavailable" 'keys unavailable' "$(cat "$work/decisions.jsonl" "$work/pdp.log" 2>/dev/null)"
expect "b: no key-set age while there is no set" "" "$(metric "pdp_jwks_age_seconds{issuer=\"$issuer\"}")"

idp_up "$work/k1.json"
got=$(until_issuer "$issuer" '.ready == true')
expect "b: once the provider is up, the issuer is ready (within 20 s)" true "$(jq -r '.ready' <<<"$got")" "$got"
expect "b: health shows its kids" yes "$(at_least 1 "$(jq -r '.kids' <<<"$got")")" "$got"
expect "b: the last fetch is ok" ok "$(jq -r '.last_fetch.result' <<<"$got")" "$got"
expect "b: health is 200 again" 200 "$(health_code)"
expect "b: the same token is now allowed" 200 "$(status "$tok1" $host)"
expect "b: metrics count the network failures" yes "$(at_least 1 "$(fetches "$issuer" network)")"
expect "b: metrics count the good fetch" yes "$(at_least 1 "$(fetches "$issuer" ok)")"
expect "b: metrics show the kids in the set" yes "$(at_least 1 "$(metric "pdp_jwks_keys{issuer=\"$issuer\"}")")"
expect "b: metrics show the key set's age" yes "$(at_least 0 "$(metric "pdp_jwks_age_seconds{issuer=\"$issuer\"}")")"

# === a. discovery + private CA: a fresh token, and one for another audience ============
tok1b=$(idp_token)
expect "a: a new token from the provider is allowed" 200 "$(status "$tok1b" $host)"
expect_match "a: nginx passes the client's identity on" '^user=svc-reports ' "$(body "$tok1b")"
expect "a: a token for another audience is refused (401)" 401 "$(status "$tok_other" $host)"

# === c. rotation: a new key set, the old key removed, no restart ======================
expect "c: the k1 token is allowed (and cached) before the rotation" 200 "$(status "$tok1" $host)"
serving_pid=$pdp_pid
before_rot=$(jwks_gets)
idp_down
idp_up "$work/k2.json"
tok2=$(idp_token)
expect "c: after the restart the provider signs with k2" k2 "$(kid_of "$tok2")"
expect "c: a token of the new key is allowed (polled, 20 s bound)" 200 "$(until_status 200 "$tok2" $host 1000)"
expect "c: the cached token of the removed key is refused (polled, 20 s bound)" 401 "$(until_status 401 "$tok1" $host 1000)"
expect "c: the other cached k1 token is refused too" 401 "$(status "$tok1b" $host)"
expect "c: the PDP fetched the new set from the provider" yes "$(at_least $((before_rot + 1)) "$(jwks_gets)")"
expect "c: no PDP restart (the same process serves)" yes "$(kill -0 "$serving_pid" 2>/dev/null && [ "$serving_pid" = "$pdp_pid" ] && echo yes)"

# --- the provider stops: cached keys keep serving, health shows the failures; it returns
idp_down
got=$(until_issuer "$issuer" '.last_fetch.result == "network"')
expect "outage: health shows the failed refresh" network "$(jq -r '.last_fetch.result' <<<"$got")" "$got"
expect "outage: the issuer stays ready on its last good keys" true "$(jq -r '.ready' <<<"$got")" "$got"
expect "outage: the new key's token is still allowed" 200 "$(status "$tok2" $host)"
idp_up "$work/k2.json"
got=$(until_issuer "$issuer" '.last_fetch.result == "ok"')
expect "outage: fetches recover once the provider is back" ok "$(jq -r '.last_fetch.result' <<<"$got")" "$got"
pdp_stop "discovery run"

# === jwks_uri, and d. forged kids: at most one fetch per jwks_min_refetch ===============
min_refetch=2
pdp_run "  - issuer: $issuer
    audiences: [$aud]
    jwks_uri: $issuer/jwks
    tls_ca_file: ca.pem
    algorithms: [RS256]
    jwks_refresh: 1h
    jwks_min_refetch: ${min_refetch}s"
got=$(until_issuer "$issuer" '.ready == true')
expect "jwks_uri: the issuer is ready" true "$(jq -r '.ready' <<<"$got")" "$got"
expect "jwks_uri: health's key source is jwks_uri" jwks_uri "$(jq -r '.keys' <<<"$got")" "$got"
expect "jwks_uri: a token of the provider is allowed" 200 "$(status "$tok2" $host)"
sleep "$min_refetch" # no refetch asked within jwks_min_refetch before the forged tokens come

keys forge "$work/forger.json" 200 "{\"iss\":\"$issuer\",\"aud\":\"$aud\",\"sub\":\"mallory\",\"exp\":$((now + 3600))}" >"$work/forged.txt"
expect "d: 200 forged tokens with distinct kids" 200 "$(cut -d. -f1 "$work/forged.txt" | sort -u | wc -l)"
before=$(jwks_gets)
t0=$(date +%s%N)
: >"$work/forged.codes"
while read -r t; do status "$t" $host >>"$work/forged.codes"; echo >>"$work/forged.codes"; done <"$work/forged.txt"
sleep 0.5 # a refetch the last tokens asked for lands in the window
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
n=$(($(jwks_gets) - before))
# Fetches spaced jwks_min_refetch apart fit floor(window / spacing) + 1 times in the window;
# one more for the jitter between when the PDP asks and when the provider logs the GET.
bound=$((elapsed_ms / (min_refetch * 1000) + 2))
expect "d: every forged token is refused (401)" "200 401" "$(sort "$work/forged.codes" | uniq -c | awk '{ print $1, $2 }' | tr '\n' ' ' | sed 's/ $//')"
expect "d: unknown kids made the PDP refetch (at least once)" yes "$(at_least 1 "$n")"
expect "d: at most one JWKS fetch per jwks_min_refetch (${n} in ${elapsed_ms} ms, bound ${bound})" yes \
	"$([ "$n" -le "$bound" ] && echo yes)"
expect "d: the provider's token is still allowed" 200 "$(status "$tok2" $host)"
pdp_stop "jwks_uri run"

# === e. TLS against the system store; f. a discovery document of another issuer ==========
pdp_run "  - issuer: $issuer
    audiences: [$aud]
    jwks_uri: $issuer/jwks
    algorithms: [RS256]
    jwks_refresh: 2s
    jwks_min_refetch: 1s
$(discovery_issuer "$issuer/")"
got=$(until_issuer "$issuer" '.last_fetch.result == "tls"')
expect "e: without tls_ca_file the private CA is not trusted: result tls" tls "$(jq -r '.last_fetch.result' <<<"$got")" "$got"
expect "e: the issuer is not ready" false "$(jq -r '.ready' <<<"$got")" "$got"
expect "e: its token is answered 500" 500 "$(status "$tok2" $host)"
expect "e: metrics count the TLS failure" yes "$(at_least 1 "$(fetches "$issuer" tls)")"
got=$(until_issuer "$issuer/" '.last_fetch.result == "invalid"')
expect "f: a configured issuer other than the document's: result invalid" invalid "$(jq -r '.last_fetch.result' <<<"$got")" "$got"
err=$(jq -r '.last_fetch.error // empty' <<<"$got")
expect "f: the error names both issuers" yes \
	"$([[ $err == *"$issuer/"* ]] && [ "$(grep -o -F "$issuer" <<<"$err" | wc -l)" -ge 2 ] && echo yes)" "error: $err"
tok_slash=$(keys sign "$work/k2.json" "{\"iss\":\"$issuer/\",\"aud\":\"$aud\",\"sub\":\"svc\",\"exp\":$((now + 3600))}")
expect "f: a token of that issuer is answered 500" 500 "$(status "$tok_slash" $host)"
expect "f: metrics count it as invalid" yes "$(at_least 1 "$(fetches "$issuer/" invalid)")"
expect "e, f: health is 503" 503 "$(health_code)"
pdp_stop "failing issuers run"

# === g. jwks_file replaced under load, then rewritten + SIGHUP; no restart ==============
files_iss=https://files.example/
cp "$work/k1.pub.json" "$work/jwks.json"
# A second issuer's file as a Kubernetes ConfigMap mounts it: cm/jwks.json -> ..data/jwks.json,
# ..data -> ..v1; an update makes ..v2 and swaps the ..data link.
cm_iss=https://configmap.example/
mkdir -p "$work/cm/..v1"
cp "$work/k1.pub.json" "$work/cm/..v1/jwks.json"
ln -s ..v1 "$work/cm/..data"
ln -s ..data/jwks.json "$work/cm/jwks.json"
pdp_run "  - issuer: $files_iss
    audiences: [$aud]
    jwks_file: jwks.json
    algorithms: [RS256]
  - issuer: $cm_iss
    audiences: [$aud]
    jwks_file: cm/jwks.json
    algorithms: [RS256]"
file_tok() { keys sign "$work/$1.json" "{\"iss\":\"${2:-$files_iss}\",\"aud\":\"$aud\",\"sub\":\"file-$1\",\"exp\":$((now + 3600))}"; }
ft1=$(file_tok k1)
ft2=$(file_tok k2)
ft3=$(file_tok k3)
expect "g: the file's key k1 is allowed" 200 "$(status "$ft1" $host)"
expect "g: k2, not yet in the file, is refused" 401 "$(status "$ft2" $host)"
got=$(issuer_health "$files_iss")
expect "g: health's key source is jwks_file" jwks_file "$(jq -r '.keys' <<<"$got")" "$got"

# load TOKEN N OUT: N back-to-back requests on one connection; each status, as it comes
# (write-out to stderr, unbuffered), on a line of OUT.
load() {
	local i
	for i in $(seq 1 "$2"); do printf 'url = "%s/?n=%d"\noutput = "/dev/null"\n' "$url" "$i"; done >"$3.curlrc"
	curl -s -K "$3.curlrc" -H "Host: api.test" -H "Authorization: Bearer $1" -w '%{stderr}%{http_code}\n' 2>"$3"
}
# swap_under_load OLD NEW CHANGE...: 2 x 200 requests (OLD's and NEW's tokens) while CHANGE
# runs once 10 have been answered; prints the answers' counts ("N CODE" each).
swap_under_load() {
	local old=$1 new=$2 n pid
	local -a a b
	shift 2
	: >"$work/load-old" && : >"$work/load-new"
	load "$old" 200 "$work/load-old" &
	load_pids=($!)
	load "$new" 200 "$work/load-new" &
	load_pids+=($!)
	for _ in $(seq 1 1000); do
		mapfile -t a <"$work/load-old"
		mapfile -t b <"$work/load-new"
		[ $((${#a[@]} + ${#b[@]})) -ge 10 ] && break
		sleep 0.005
	done
	"$@"
	n=$(cat "$work/load-old" "$work/load-new" | wc -l)
	for pid in "${load_pids[@]}"; do wait "$pid"; done
	load_pids=()
	echo "# $((400 - n)) of the 400 requests were sent after the change" >&2
	cat "$work/load-old" "$work/load-new" | sort | uniq -c | awk '{ print $1, $2 }' | tr '\n' ' '
}
# answered_bad COUNTS: "TOTAL BAD" of swap_under_load's counts, BAD being answers other than
# 200 and 401 (a 500 above all).
answered_bad() { awk '{ for (i = 1; i < NF; i += 2) { t += $i; if ($(i + 1) !~ /^(200|401)$/) b += $i } } END { print t + 0, b + 0 }' <<<"$1"; }
cp "$work/k2.pub.json" "$work/jwks.json.new"
counts=$(swap_under_load "$ft1" "$ft2" mv "$work/jwks.json.new" "$work/jwks.json")
expect "g: 400 requests across the atomic replace: all answered, none 500" "400 0" \
	"$(answered_bad "$counts")" "answers: $counts"
expect "g: after the replace, k2's token is allowed (polled)" 200 "$(until_status 200 "$ft2" $host 1000)"
expect "g: after the replace, removed k1's cached token is refused" 401 "$(until_status 401 "$ft1" $host 1000)"
expect "g: the same PDP process serves (no restart)" yes "$(kill -0 "$pdp_pid" 2>/dev/null && echo yes)"

rewrite_and_hup() { cat "$work/k3.pub.json" >"$work/jwks.json" && kill -HUP "$pdp_pid"; }
counts=$(swap_under_load "$ft2" "$ft3" rewrite_and_hup)
expect "g: 400 requests across a rewrite + SIGHUP: all answered, none 500" "400 0" \
	"$(answered_bad "$counts")" "answers: $counts"
expect "g: after SIGHUP, k3's token is allowed (polled)" 200 "$(until_status 200 "$ft3" $host 1000)"
expect "g: after SIGHUP, removed k2's cached token is refused" 401 "$(until_status 401 "$ft2" $host 1000)"

cm1=$(file_tok k1 "$cm_iss")
cm2=$(file_tok k2 "$cm_iss")
expect "g: the ConfigMap file's key k1 is allowed" 200 "$(status "$cm1" $host)"
expect "g: k2, not yet in the ConfigMap, is refused" 401 "$(status "$cm2" $host)"
mkdir "$work/cm/..v2" && cp "$work/k2.pub.json" "$work/cm/..v2/jwks.json" && ln -s ..v2 "$work/cm/..data_tmp"
counts=$(swap_under_load "$cm1" "$cm2" mv -T "$work/cm/..data_tmp" "$work/cm/..data")
rm -rf "$work/cm/..v1"
expect "g: 400 requests across the ConfigMap's symlink swap: all answered, none 500" "400 0" \
	"$(answered_bad "$counts")" "answers: $counts"
expect "g: after the symlink swap, k2's token is allowed (polled)" 200 "$(until_status 200 "$cm2" $host 1000)"
expect "g: after the symlink swap, removed k1's cached token is refused" 401 "$(until_status 401 "$cm1" $host 1000)"
pdp_stop "jwks_file run"

# === h. pdp check: jwks_uri must be https (plain http only on loopback) ==================
cat >"$work/http.yaml" <<YAML
listen: unix:$sock
policies: policies
issuers:
  - issuer: https://example.com/
    audiences: [$aud]
    jwks_uri: http://example.com/keys
YAML
line=$(grep -n 'jwks_uri:' "$work/http.yaml" | cut -d: -f1)
out=$("$bin/pdp" check -c "$work/http.yaml" 2>&1)
rc=$?
expect "h: pdp check refuses a plain-http jwks_uri" yes "$([ "$rc" -ne 0 ] && echo yes)" "$out"
expect_match "h: the error names file:line" "http\.yaml:$line:[0-9]+:" "$out"
expect_match "h: the error states the https rule" 'https' "${out//https:\/\/example.com/}"

expect_no_crash_report "$work/pdp.log"
echo "idp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
