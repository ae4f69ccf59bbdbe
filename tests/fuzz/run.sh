#!/usr/bin/env bash
# Builds the fuzz targets with clang and runs each for a bounded time from a
# seed corpus of well-formed and hostile inputs. Any crash, leak or sanitizer
# report fails the run; the crashing input is kept in the output directory.
# usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]   (default 20)
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

seconds=${1:-20}
build=build-fuzz
out=${PDP_FUZZ_OUT:-$build/findings}
CC=clang pdp_build "$build" -DPDP_FUZZ=ON -DPDP_SANITIZE=ON -DPDP_TESTS=OFF -DPDP_LOADTEST=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo || { echo "fuzz build failed"; exit 1; }

corpus=$build/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{token,json,claims,config,jwks,discovery,request,policy,cases,context,fcgi,http,matching,info,report_html,checklist,decision_line} "$out"

# Seeds: tokens minted with the fuzz target's fixed HMAC secret, valid until 2030.
secret=$build/fuzz.secret
printf '%s' "fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret" >"$secret"
mint() { "$build/pdp/pdp-mint" token --alg HS256 --key "$secret" --claims "$1" >"$corpus/token/$2"; }
mint '{"iss":"https://hmac.example.com/","aud":"https://apps.example.com","sub":"a","exp":1900000000,"iat":1700000000,"groups":["g1","g,2"],"roles":["r"],"amr":["pwd","mfa"],"acr":"x","auth_time":1700000000,"deviceid":"d","signin_risk":"low","azp":"c","jti":"j"}' full
mint '{"iss":"https://hmac.example.com/","aud":["x","https://apps.example.com"],"sub":"b","exp":1900000000.5}' aud-list
mint '{"iss":"https://idp.example.com/","aud":"https://apps.example.com","sub":"c","exp":1900000000}' other-issuer
printf 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.' >"$corpus/token/alg-none"
printf '{"iss":"https:\\/\\/idp\\u002e","exp":1.9e9,"nbf":-0,"groups":["a","\\ud83d\\ude00"],"o":{"k":[true,false,null]}}' >"$corpus/json/claims"
printf '{"alg":"RS256","kid":"k\xc3\xa9","typ":"JWT"}' >"$corpus/json/header"
# Claim names, one a line, an empty line, then the payload they are looked up in.
printf 'realm_access.roles\nresource_access.api.roles\nhttps://corp.example.com/roles\n_claim_names.groups\n\n{"realm_access":{"roles":["admin"]},"resource_access":{"api":{"roles":["r"]},"x":{}},"https://corp.example.com/roles":["a"],"_claim_names":{"groups":"src1"}}' >"$corpus/claims/keycloak"
printf 'a.b.c\na..b\na.b.c.d.e.f.g.h.i\n\n{"a":{"b":{"c":[1,{"d":2}]},"b":3}}' >"$corpus/claims/deep"
cp deploy/pdp.yaml "$corpus/config/sample.yaml"
printf 'issuers:\n  - issuer: i\n    audiences: [a, b]\n    hmac_secret_file: s\n    leeway: 5m\nstore: { type: redis, address: "tcp:[::1]:6379", timeout: 20ms }\nreload: { settle: 1s, max_drop: 25%% }\npid_file: /run/pdp.pid\n' >"$corpus/config/full.yaml"
"$build/pdp/pdp-mint" keygen rsa --kid r --key "$build/k1.pem" --jwks "$corpus/jwks/rsa.json" >/dev/null
"$build/pdp/pdp-mint" keygen p384 --kid e --key "$build/k2.pem" --jwks "$corpus/jwks/ec.json" >/dev/null
"$build/pdp/pdp-mint" keygen ed25519 --kid d --key "$build/k3.pem" --jwks "$corpus/jwks/ed25519.json" >/dev/null
# Keys as issuers publish them: x5c beside n/e and alone, an enc key first, unknown members.
x5c=$(openssl req -x509 -key "$build/k1.pem" -subj /CN=fuzz -days 1 -outform DER 2>/dev/null | base64 -w0)
n=$(sed -n 's/.*"n": "\([^"]*\)".*/\1/p' "$corpus/jwks/rsa.json")
printf '{"keys":[{"kty":"RSA","use":"sig","kid":"r","x5t":"x","n":"%s","e":"AQAB","x5c":["%s"],"issuer":"https://login.example.com/t/v2.0"}]}' "$n" "$x5c" >"$corpus/jwks/entra.json"
printf '{"keys":[{"kid":"enc","kty":"RSA","alg":"RSA-OAEP","use":"enc","n":"%s","e":"AQAB"},{"kid":"r","kty":"RSA","alg":"PS256","use":"sig","x5c":["%s"],"x5t#S256":"y","key_ops":["verify"]}]}' "$n" "$x5c" >"$corpus/jwks/keycloak.json"
printf '{"keys":[{"kty":"OKP","crv":"X25519","x":"AAAA"},{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"},{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x5c":["MIIB"]}]}' >"$corpus/jwks/skipped.json"
# Discovery: the configured issuer, a newline, then the document (Entra's shape, a mismatch, a bad jwks_uri).
printf 'https://login.example.com/t/v2.0\n{"token_endpoint":"https://login.example.com/t/oauth2/v2.0/token","jwks_uri":"https:\\/\\/login.example.com\\/t\\/discovery\\/v2.0\\/keys","issuer":"https://login.example.com/t/v2.0","response_types_supported":["code"],"mtls_endpoint_aliases":{"a":"b"}}' >"$corpus/discovery/entra"
printf 'http://127.0.0.1:3000/\n{"issuer":"http://127.0.0.1:3000","jwks_uri":"http://[::1]:3000/jwks"}' >"$corpus/discovery/mismatch"
printf 'public, max-age=300, no-cache\n{"issuer":"public, max-age=300, no-cache","jwks_uri":"http://127.0.0.1@evil/"}' >"$corpus/discovery/cache-control"
printf 'Bearer abc.def.ghi\0theme=1; pdp_token="x.y.z"' >"$corpus/request/both"
printf 'a.example:8443\0/x?a=1&rd=https://e/\x01"\\\xc3\xa9' >"$corpus/request/sign-in"
# FastCGI: a piece-size byte, then a request as nginx sends it; one kept open for a second;
# management records.
fcgi_req() { # ID FLAGS
	printf "\x01\x01\x00\x$1\x00\x08\x00\x00\x00\x01\x$2\x00\x00\x00\x00\x00"
	printf "\x01\x04\x00\x$1\x00\x0f\x01\x00\x0a\x03PDP_METHODGET\x00"
	printf "\x01\x04\x00\x$1\x00\x00\x00\x00\x01\x05\x00\x$1\x00\x00\x00\x00"
}
{ printf '\x10'; fcgi_req 01 00; } >"$corpus/fcgi/request"
{ printf '\x03'; fcgi_req 01 01; fcgi_req 02 00; } >"$corpus/fcgi/keep-conn"
printf '\x00\x01\x09\x00\x00\x00\x11\x00\x00\x0f\x00FCGI_MPXS_CONNS\x01\x2a\x00\x00\x00\x00\x00\x00' >"$corpus/fcgi/management"
# HTTP: a piece-size byte, then requests as nginx sends them: one; four pipelined, the last
# closing; a refusal behind a request.
nginx_http() { # URI
	printf 'GET /auth HTTP/1.1\r\nHost: pdp_http\r\nX-PDP-Remote-Addr: 192.0.2.1\r\n'
	printf 'X-PDP-Method: GET\r\nX-PDP-Host: app.example.com\r\nX-PDP-URI: %s\r\n' "$1"
	printf 'Authorization: Bearer a.b.c\r\nCookie: pdp_token=x\r\nUser-Agent: curl\r\n\r\n'
}
{ printf '\x20'; nginx_http /a; } >"$corpus/http/request"
{ printf '\x05'; nginx_http /a; nginx_http /b; printf 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'; printf 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n'; } >"$corpus/http/pipelined"
{ printf '\xff'; nginx_http /a; printf 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'; } >"$corpus/http/refused"
# Matching: a method, a NUL, then a request URI.
i=0
for seed in 'POST\0/payroll;a=b/run' 'PROPPATCH\0/Payroll/../payroll/x?q' 'GET\0/w/A.\\b/%2e%2E/;x' \
	'X-Y\0http://h/dav//%2Fa%3Bb/..;/c' 'M!#$%&*+.^_`|~\0/WIN/a. ./x' \
	'POST\0/x\\..\\payroll%5Crun#a' 'GET\0/WIN/A::$DATA/WIN~1/%C5%BF?x#y'; do
	printf '%b' "$seed" >"$corpus/matching/seed-$((i += 1))"
done
for f in policies/*.yaml; do cp "$f" "$corpus/policy/"; done
cat policies/*.yaml >"$corpus/policy/all-in-one.yaml"
printf 'apps:\n  - { id: a, hosts: [x], paths: [/P/, /q], methods: { except: [GET, X-Y] }, case_insensitive: true }\n  - { id: b, hosts: [x], paths: [/p/], methods: [GET, PROPFIND], case_insensitive: true }\n  - { id: c, hosts: [y], paths: [/p/] }\n' >"$corpus/policy/methods-and-paths.yaml"
printf 'apps: []\npolicies:\n# cut here\n' >"$corpus/policy/cut.yaml"
cp policies/tests/*.yaml "$corpus/cases/"
for f in tests/integration/idp/tests/*.yaml; do cp "$f" "$corpus/cases/idp-${f##*/}"; done
printf '{sub: a, amr: [pwd], auth_time: -60}' >"$corpus/cases/explain-claims"
printf '{"compliant": true, "risk": "high"}' >"$corpus/cases/explain-json"
printf 'devices:\n  - { id: d1, compliant: true, managed: 1, trust: hybrid, platform: ios, os_version: "17.1", updated: 1790000000 }\nusers:\n  - { id: u1, risk: medium, disabled: false, revoked_before: 1790000000 }\n  - { id: u2 }\nrevoked_jtis: [j1, j2]\n' >"$corpus/context/full.yaml"
printf '# cut to comments\nusers:\n' >"$corpus/context/cut.yaml"
printf '# Replication\r\nrole:slave\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:1\r\nmaster_sync_in_progress:0\r\n\n# Persistence\r\nloading:0\r\n' >"$corpus/info/replica"
printf '# Replication\r\nrole:master\r\nconnected_slaves:0\r\n' >"$corpus/info/primary"
# Report documents: every member the page shows, hostile strings, and an empty one.
printf '%s' '{"format":"pdp-report/1","inputs":[{"name":"d.jsonl.gz","lines":5,"decisions":4,"skipped":1}],"skipped":{"count":1,"examples":[{"input":"d.jsonl.gz","line":3,"reason":"<script>x</script>"}]},"window":{"since":null,"until":"2026-11-24T00:00:00.000Z","first":"2026-11-23T00:00:00.000Z","last":"2026-11-23T01:59:00.5Z"},"totals":{"decisions":4,"by_decision":{"allow":1,"deny":1,"step-up":1,"unauthenticated":1,"error":0},"users_distinct":2,"devices_distinct":1},"timeline":{"bucket_seconds":3600,"buckets":[{"start":"2026-11-23T00:00:00.000Z","allow":1,"deny":1,"step-up":0,"unauthenticated":0,"error":0},{"start":"2026-11-23T01:00:00.000Z","allow":0,"deny":0,"step-up":1,"unauthenticated":1,"error":0}]},"latency_us":{"p50":1,"p90":2,"p99":3,"p999":4,"max":5},"policies":[{"id":"p\u0001<","applied":2,"denied":1,"stepped_up":1,"users_affected_distinct":1,"state":"report-only"}],"apps":[{"app":"a\"b","decisions":4,"by_decision":{"allow":1,"deny":1,"step-up":1,"unauthenticated":1,"error":0}}],"top_deny_reasons":[{"reason":"r&<","count":1,"error":0}],"top_step_up_reasons":[{"reason":"s","count":1,"error":1}],"report_only":[{"id":"ro","evaluated":3,"would":{"deny":1,"step-up":1},"users_distinct":{"deny":1,"step-up":1},"by_app":[{"app":"a","deny":1,"step-up":1}],"examples":["\"><img>"]}],"incidents":[{"kind":"store-stale","start":"2026-11-23T00:30:00.000Z","end":"2026-11-23T03:00:00.000Z","decisions":2}]}' >"$corpus/report_html/full"
printf '{"format":"pdp-report/1"}' >"$corpus/report_html/empty"
cp pdp/src/evidence/ztmm-checklist.yaml "$corpus/checklist/builtin.yaml"
printf 'checklist: { id: x, title: X, version: 1 }\nsources: [{ id: s, title: S, url: u }]\napp_classes: [{ id: c, apps: ["*a*"] }]\ncontrols:\n  - { id: a, title: A, pillar: Data, function: F, stage: optimal, sources: [s], rationale: R, check: { kind: session_bound, max: 1h, apps: c, users: all } }\n  - { id: b, title: B, pillar: Governance, function: F, stage: initial, rationale: R, check: { kind: exclusion, accounts: ["break*"], scope: enforced } }\n' >"$corpus/checklist/small.yaml"
# Decision logs: the test's fixed logs (plain and gzip), a line past 8 KiB, a cut line.
cp tests/report/*.jsonl "$corpus/decision_line/"
gzip -c tests/report/decisions.jsonl >"$corpus/decision_line/decisions.gz"
{ printf '{"time":"2026-11-23T04:33:14.820Z","decision":"allow","uri":"'; head -c 9000 /dev/zero | tr '\0' a; printf '"}\n{"time":"2026-11-23T04:33:15Z","decision":"deny","policies":[{"id":"p","result":"bl'; } >"$corpus/decision_line/long-and-cut"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=0
targets=(token json claims config jwks discovery request policy cases context fcgi http matching info report_html checklist decision_line)
for t in "${targets[@]}"; do
	echo "=== fuzz_$t for ${seconds}s"
	if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=16384 -timeout=10 \
		-artifact_prefix="$out/$t-" "$corpus/$t" >"$out/$t.log" 2>&1; then
		grep -E '^Done [0-9]+ runs' "$out/$t.log" | tail -1
	else
		failed=$((failed + 1))
		echo "fuzz_$t found a problem:"
		grep -E -A25 'ERROR|runtime error|deadly signal' "$out/$t.log" | head -40
	fi
done
echo "fuzz: $((${#targets[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
