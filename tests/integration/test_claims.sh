#!/usr/bin/env bash
# Claims as issuers emit them, through nginx with deploy/nginx's snippets: Keycloak's nested
# roles, Entra's group overage (deny and ignore), and a 9 KB token that nginx must pass.
# usage: test_claims.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_claims.sh BIN_DIR}" && pwd)
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/assert.sh"
. "$(dirname "$0")/fixture.sh"

fixture_start claims
pdp_make_keys "$bin" "$work"
kc=https://kc.example.com/realms/corp
entra=https://login.microsoftonline.com/tid/v2.0
entra_ignore=https://entra-ignore.example.com/
aud=api://apps
mkdir -p "$work/policies"
cat >"$work/policies/apps.yaml" <<'YAML'
apps:
  - id: admin
    name: Admin console
    hosts: [admin.test]
policies:
  - id: admins-only
    name: Only admins (by role or group) reach the admin console
    users: { include: all, exclude: { roles: [admin], groups: [admins] } }
    apps: { include: [admin] }
    grant: block
YAML
# No token.max_bytes: the default (16 KiB) applies.
cat >"$work/pdp.yaml" <<YAML
listen: unix:$sock
threads: 2
policies: policies
default_decision: allow
realm: pdp-test
log_level: debug
issuers:
  - issuer: $kc
    audiences: [$aud]
    jwks_file: jwks.json
    algorithms: [RS256]
    claims: { user: preferred_username, roles: [realm_access.roles, resource_access.api.roles] }
  - issuer: $entra
    audiences: [$aud]
    jwks_file: jwks.json
    algorithms: [RS256]
    claims: { user: oid, roles: [roles, wids] }
  - issuer: $entra_ignore
    audiences: [$aud]
    jwks_file: jwks.json
    algorithms: [RS256]
    claims: { user: oid }
    on_groups_overage: ignore
YAML
"$bin/pdp" check -c "$work/pdp.yaml" >/dev/null || { echo "pdp check failed"; "$bin/pdp" check -c "$work/pdp.yaml"; exit 1; }
fixture_serve
fixture_nginx

now=$(date +%s)
mint() { pdp_mint "$bin" "$work" RS256 "{\"iss\":\"$1\",\"aud\":\"$aud\",\"exp\":$((now + 600))$2}"; }
# answer TOKEN: "STATUS REASON" nginx and the PDP answer at the admin console.
answer() {
	curl -s -o /dev/null -D "$work/headers" -w '%{http_code}' -H "Host: admin.test" \
		-H "Authorization: Bearer $1" "$url/"
	printf ' %s' "$(tr -d '\r' <"$work/headers" | sed -n 's/^X-PDP-Reason: //Ip')"
}
status() { answer "$1" | cut -d' ' -f1; }

# --- Keycloak: roles nested in realm_access and resource_access ---------------
expect "Keycloak token with realm_access.roles admin: allowed" 200 \
	"$(status "$(mint $kc ',"preferred_username":"alice","realm_access":{"roles":["offline_access","admin"]}')")"
expect "Keycloak token with the client role admin: allowed" 200 \
	"$(status "$(mint $kc ',"preferred_username":"alice","resource_access":{"api":{"roles":["admin"]}}')")"
expect "Keycloak token without the admin role: denied" 403 \
	"$(status "$(mint $kc ',"preferred_username":"bob","realm_access":{"roles":["offline_access"]}')")"
expect "Keycloak token with a string where the roles belong: 401" 401 \
	"$(status "$(mint $kc ',"preferred_username":"bob","realm_access":{"roles":"admin"}')")"

# --- Entra: roles + wids, and group overage --------------------------------------
expect "Entra token with admin in wids: allowed" 200 \
	"$(status "$(mint $entra ',"oid":"o-1","wids":["admin"]')")"
expect "Entra token in group admins: allowed" 200 \
	"$(status "$(mint $entra ',"oid":"o-1","groups":["admins"]')")"
overage=',"oid":"o-2","_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.microsoft.com/v1.0/users/o-2/getMemberObjects"}}'
expect "Entra overage token (_claim_names): 403 with the reason" \
	"403 identity: group overage, the token lists no groups" "$(answer "$(mint $entra "$overage")")"
expect "Entra overage token (hasgroups): 403 with the reason" \
	"403 identity: group overage, the token lists no groups" \
	"$(answer "$(mint $entra ',"oid":"o-3","hasgroups":true')")"
expect "Entra overage token with roles admin still denied for the missing groups" 403 \
	"$(status "$(mint $entra ',"oid":"o-3","hasgroups":true,"roles":["admin"]')")"
expect "on_groups_overage: ignore: decided with no groups (the policy blocks)" \
	"403 admins-only: blocked" "$(answer "$(mint $entra_ignore "$overage")")"
got=$(answer "$(mint $entra_ignore "$overage")")
expect_match "on_groups_overage: ignore: not the overage reason" '^403 admins-only' "$got"

# --- pdp explain -c: the same mapping and the same overage answer ------------------
ex() { "$bin/pdp" explain -c "$work/pdp.yaml" --url https://admin.test/ --token "$1" 2>&1; }
expect_match "explain: Keycloak admin by realm_access.roles is allowed" '^decision: allow' \
	"$(ex "$(mint $kc ',"preferred_username":"alice","realm_access":{"roles":["admin"]}')")"
expect_match "explain: names the mapped claims the token lacks" '^absent mapped claims: groups, amr, acr, device_id, sign_in_risk, client_id$' \
	"$(ex "$(mint $kc ',"preferred_username":"alice","realm_access":{"roles":["admin"]}')")"
expect_match "explain: absent roles are named" '^absent mapped claims: groups, roles,' \
	"$(ex "$(mint $kc ',"preferred_username":"alice"')")"
expect_match "explain: Keycloak token without the role is denied" '^decision: deny' \
	"$(ex "$(mint $kc ',"preferred_username":"bob","realm_access":{"roles":[]}')")"
expect_match "explain: Entra overage says why" \
	'^decision: deny \(403\): identity: group overage, the token lists no groups' \
	"$(ex "$(mint $entra "$overage")")"

# --- size: a 9 KB token passes nginx and the PDP ----------------------------------
pad=$(head -c 9000 /dev/zero | tr '\0' 'g')
big=$(mint $entra ",\"oid\":\"o-4\",\"groups\":[\"admins\"],\"pad\":\"$pad\"")
expect "the big token is over 9 KB" 1 "$([ ${#big} -gt 9000 ] && echo 1 || echo 0)"
expect "a 9 KB token passes nginx and is allowed" 200 "$(status "$big")"
huge=$(mint $entra ",\"oid\":\"o-4\",\"pad\":\"$(head -c 17000 /dev/zero | tr '\0' 'g')\"")
expect "a token over 16 KiB: 401 token too large" 401 "$(status "$huge")"

expect_match "debug log names the mapped claims a token lacks" \
	'the token carries none of its issuer.s mapped claims for groups, amr, acr, device_id, sign_in_risk, client_id' \
	"$(cat "$work/pdp.log")"
expect_no_crash_report "$work/pdp.log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
