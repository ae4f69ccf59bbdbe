#!/usr/bin/env bash
# pdp coverage: the baseline set and sets written here to meet and to miss each
# control of the built-in checklist; Markdown, JSON and CSV read back; exit
# codes; a checklist extended without code; a broken checklist.
# usage: test_coverage.sh BIN_DIR   (the build's pdp/ directory)
set -uo pipefail

bin=$(cd "${1:?usage: test_coverage.sh BIN_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/assert.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/pdp-coverage-XXXXXX")
trap 'rm -rf "$work"' EXIT
pdp=$bin/pdp

# results FILE.json: "id=result" per control, one line each, in checklist order.
results() { jq -r '.controls[] | "\(.id)=\(.result)"' "$1"; }
# rc COMMAND...: the exit status alone.
rc() { "$@" >/dev/null 2>&1; echo $?; }

# --- the baseline set with the production config -------------------------------
"$pdp" coverage -c "$root/deploy/pdp.yaml" "$root/policies" --json >"$work/base.json" 2>"$work/err"
expect "baseline: exit 0" 0 $?
controls=$(grep -c '^    check:' "$root/pdp/src/evidence/ztmm-checklist.yaml")
expect "baseline: JSON parses back, a result per control of the checklist" "$controls" \
	"$(jq '.controls | length' "$work/base.json")"
expect "baseline: every control's result" "phishing-resistant-mfa-privileged=partly
user-risk-policy=met
sign-in-risk-policy=not_met
access-revocation=met
compliant-device-sensitive=partly
trusted-network-no-free-pass=partly
sign-in-frequency-sensitive=partly
default-deny=not_met
decision-log=met
continuous-evaluation=met
policies-tested=met
report-only-trial=met
break-glass-excluded=met" "$(results "$work/base.json")"
expect "baseline: pillar stages" "Identity=initial Devices=traditional Networks=traditional Applications and Workloads=traditional Visibility and Analytics=initial Automation and Orchestration=advanced Governance=advanced" \
	"$(jq -r '[.pillars[] | "\(.pillar)=\(.stage)"] | join(" ")' "$work/base.json")"
expect "baseline: overall stage" traditional "$(jq -r .stage "$work/base.json")"
# As many cases as pdp test runs with the same config, all passed.
cases=$("$pdp" test -c "$root/deploy/pdp.yaml" "$root/policies" | sed -n 's/^\([0-9]*\) passed, 0 failed$/\1/p')
expect "baseline: the cases ran as pdp test runs them" "$cases $cases" \
	"$(jq -r '"\(.tests.cases) \(.tests.passed)"' "$work/base.json")"
expect_match "baseline: evidence names policies" \
	'^hr: hr-compliant-device-trial \(report-only\)$' \
	"$(jq -r '.controls[] | select(.id == "compliant-device-sensitive") | .evidence[]' "$work/base.json")"
expect_match "baseline: evidence names test cases" \
	'^report-only-trial .*"the report-only HR device rule does not change the answer"' \
	"$(jq -r '.controls[] | "\(.id) \(.evidence | join(";"))"' "$work/base.json" | grep report-only-trial)"
expect_match "baseline: evidence names config keys" 'store.type: redis \(publishes events\)' \
	"$(jq -r '.controls[] | select(.id == "continuous-evaluation") | .evidence[]' "$work/base.json")"
# The baseline's phishing-resistant strength also takes a token's acr, which the set cannot
# judge; its policy is on the admins only, which the evidence says.
expect "baseline: a strength an acr also meets is partly, and who is covered" \
	"admin-portal: admins-strong-auth (also met by acr urn:example:acr:phr, which the PDP cannot judge; on groups admins and roles Admin only)" \
	"$(jq -r '.controls[] | select(.id == "phishing-resistant-mfa-privileged") | .evidence[]' "$work/base.json")"
expect "baseline: what would raise a partial control" \
	"a sign_in_frequency of at most 43200s, enforced for all users, on sensitive apps: admin-portal, payroll-read, hr" \
	"$(jq -r '.controls[] | select(.id == "sign-in-frequency-sensitive") | .raise' "$work/base.json")"

md=$("$pdp" coverage -c "$root/deploy/pdp.yaml" "$root/policies")
expect_match "Markdown: the overall stage and what reaching the next takes" \
	'^\*\*Overall stage: Traditional\.\*\* .* To reach Initial: trusted-network-no-free-pass, sign-in-frequency-sensitive\.$' "$md"
expect_match "Markdown: a row per pillar" '^\| Identity \| Initial \| 2 of 4 \| Advanced: phishing-resistant-mfa-privileged, sign-in-risk-policy \|$' "$md"
expect_match "Markdown: a row per control" \
	'^\| sign-in-risk-policy \| Identity · Risk Assessments \| Advanced \| not met \|$' "$md"

# --- CSV: one row per control after a header, what a spreadsheet imports ---------
"$pdp" coverage -c "$root/deploy/pdp.yaml" "$root/policies" --csv >"$work/base.csv"
expect "CSV: exit 0" 0 $?
csv=$(python3 - "$work/base.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f, strict=True))
print(len(rows), sorted({len(r) for r in rows}), rows[0][:6])
for r in rows[1:]:
    print(f"{r[0]}={r[5]}")
PY
)
expect "CSV: a header and a row per control, 9 columns each" "$((controls + 1)) [9] ['id', 'title', 'pillar', 'function', 'stage', 'result']" \
	"$(head -1 <<<"$csv")"
expect "CSV: the same results as JSON" "$(results "$work/base.json")" "$(tail -n +2 <<<"$csv")"
expect "CSV: RFC 4180 lines end in CRLF" $((controls + 1)) "$(grep -c $'\r$' "$work/base.csv")"

# --- a set written to meet every control ------------------------------------------
mkdir -p "$work/strong/tests"
cat >"$work/strong/policies.yaml" <<'YAML'
apps:
  - { id: admin-portal, hosts: [admin.example.com] }
  - { id: hr, hosts: [hr.example.com] }
  - { id: wiki, hosts: [wiki.example.com] }
locations:
  - { id: embargoed, countries: [KP] }
strengths:
  - { id: phishing-resistant, combinations: [[hwk], [sc]] }
policies:
  - id: block-embargoed
    users: { include: all, exclude: { users: [breakglass@example.com] } }
    apps: { include: all }
    conditions: { locations: { include: [embargoed] } }
    grant: block
  - id: admins-strong
    users: { include: all, exclude: { users: [breakglass@example.com] } }
    apps: { include: [admin-portal] }
    grant: { controls: [{ strength: phishing-resistant }, compliant_device] }
    session: { sign_in_frequency: 4h }
  - id: hr-device
    users: { include: all, exclude: { users: [breakglass@example.com] } }
    apps: { include: [hr] }
    grant: { controls: [mfa, compliant_device] }
    session: { sign_in_frequency: 8h }
  - id: user-risk
    users: { include: all, exclude: { users: [breakglass@example.com] } }
    apps: { include: all }
    conditions: { user_risk: [high] }
    grant: { controls: [mfa, password_change] }
  - id: sign-in-risk
    users: { include: all, exclude: { users: [breakglass@example.com] } }
    apps: { include: all }
    conditions: { sign_in_risk: [high] }
    grant: block
  - id: wiki-device-trial
    state: report-only
    users: { include: all }
    apps: { include: [wiki] }
    grant: { controls: [compliant_device] }
YAML
cat >"$work/strong/tests/cases.yaml" <<'YAML'
cases:
  - name: embargoed
    request: { host: wiki.example.com, country: KP }
    claims: { sub: a }
    expect: deny
    expect_policies: [block-embargoed]
  - name: admin with a key on a compliant device
    request: { host: admin.example.com }
    claims: { sub: a, amr: [hwk], auth_time: -60 }
    device: { id: d1, compliant: true }
    expect: allow
  - name: hr on a compliant device
    request: { host: hr.example.com }
    claims: { sub: a, amr: [pwd, otp], auth_time: -60 }
    device: { id: d1, compliant: true }
    expect: allow
  - name: high user risk
    request: { host: wiki.example.com }
    claims: { sub: a, amr: [pwd, otp] }
    user: { risk: high }
    expect: deny
  - name: high sign-in risk
    request: { host: wiki.example.com }
    claims: { sub: a, signin_risk: high }
    expect: deny
  - name: the wiki trial does not decide, the default does
    request: { host: wiki.example.com }
    claims: { sub: a }
    expect: deny
    expect_policies: []
YAML
cat >"$work/strong.yaml" <<'YAML'
policies: strong
default_decision: deny
decision_log: decisions.jsonl
issuers:
  - { issuer: "https://idp.example.com/", audiences: [api], hmac_secret_file: secret }
store: { type: redis, address: "tcp:127.0.0.1:6379", on_store_error: deny }
YAML
"$pdp" coverage -c "$work/strong.yaml" --json >"$work/strong.json" 2>"$work/err"
expect "met: exit 0, the set named by the config" 0 $?
expect "met: every control is met" "" "$(results "$work/strong.json" | grep -v '=met$')"
expect "met: the highest stage the checklist evidences" advanced "$(jq -r .stage "$work/strong.json")"
expect "--fail-below advanced: 0 when reached" 0 "$(rc "$pdp" coverage -c "$work/strong.yaml" --fail-below advanced)"
expect "--fail-below optimal: 1 when not reached" 1 "$(rc "$pdp" coverage -c "$work/strong.yaml" --fail-below optimal)"
expect_match "--fail-below says why on stderr" "the set's stage, advanced, is below optimal" \
	"$("$pdp" coverage -c "$work/strong.yaml" --fail-below optimal 2>&1 >/dev/null)"

# --- a set written to miss every control --------------------------------------------
mkdir -p "$work/weak"
cat >"$work/weak/policies.yaml" <<'YAML'
apps:
  - { id: admin-portal, hosts: [admin.example.com] }
  - { id: hr, hosts: [hr.example.com] }
locations:
  - { id: corp, ranges: [10.0.0.0/8], trusted: true }
  - { id: embargoed, countries: [KP] }
policies:
  - id: block-embargoed
    users: { include: all }
    apps: { include: all }
    conditions: { locations: { include: [embargoed] } }
    grant: block
  - id: mfa-outside
    users: { include: all }
    apps: { include: all }
    conditions: { locations: { include: [any], exclude: [trusted] } }
    grant: { controls: [mfa] }
YAML
"$pdp" coverage "$work/weak" --json >"$work/weak.json" 2>"$work/err"
expect "missed: exit 0 without --fail-below" 0 $?
expect "missed: no control is met" "" "$(results "$work/weak.json" | grep '=met$')"
expect "missed: all but one not met (a location-scoped MFA policy is partly)" \
	"trusted-network-no-free-pass=partly" "$(results "$work/weak.json" | grep -v '=not_met$')"
expect "missed: traditional" traditional "$(jq -r .stage "$work/weak.json")"
expect_match "missed: no test cases is evidence, and a warning" 'test cases not run: .*weak/tests: No such file' "$(cat "$work/err")"
expect "--fail-below initial: 1 below it" 1 "$(rc "$pdp" coverage "$work/weak" --fail-below initial)"
expect "--fail-below traditional: 0" 0 "$(rc "$pdp" coverage "$work/weak" --fail-below traditional)"

# --- one change at a time from the strong set misses one control ------------------------
cp -r "$work/strong" "$work/one"
sed -i 's/^    session: { sign_in_frequency: 8h }$//' "$work/one/policies.yaml"
sed "s|policies: strong|policies: one|" "$work/strong.yaml" >"$work/one.yaml"
"$pdp" coverage -c "$work/one.yaml" --json >"$work/one.json" 2>/dev/null
expect "no sign-in frequency on hr: only that control drops" "sign-in-frequency-sensitive=partly" \
	"$(results "$work/one.json" | grep -v '=met$')"
expect "... and the overall stage with it" traditional "$(jq -r .stage "$work/one.json")"
sed -i 's/^  - id: sign-in-risk$/  - id: sign-in-risk\n    state: report-only/' "$work/one/policies.yaml"
"$pdp" coverage -c "$work/one.yaml" --json >"$work/one.json" 2>/dev/null
expect "a risk policy in report-only is partly" \
	"sign-in-risk-policy=partly sign-in-frequency-sensitive=partly" \
	"$(results "$work/one.json" | grep -v '=met$' | tr '\n' ' ' | sed 's/ $//')"

# --- who a policy applies to, from the strong set -----------------------------------------
# variant NAME SED: the strong set edited by SED, assessed; prints its results but the met ones.
variant() {
	rm -rf "${work:?}/$1"
	cp -r "$work/strong" "$work/$1"
	sed -i "$2" "$work/$1/policies.yaml"
	sed "s|policies: strong|policies: $1|" "$work/strong.yaml" >"$work/$1.yaml"
	"$pdp" coverage -c "$work/$1.yaml" --json >"$work/$1.json" 2>/dev/null
	results "$work/$1.json" | grep -v '=met$' | tr '\n' ' ' | sed 's/ $//'
}
# (its test case no longer applies it: policies-tested drops too)
expect "a risk policy that excludes all users does not count" "user-risk-policy=not_met policies-tested=partly" \
	"$(variant exall '/^  - id: user-risk$/,/^    users:/s/^    users: .*/    users: { include: all, exclude: all }/')"
expect "a risk policy that excludes a group is partly" "sign-in-risk-policy=partly" \
	"$(variant exgroup '/^  - id: sign-in-risk$/,/^    users:/s/^    users: .*/    users: { include: all, exclude: { groups: [staff], users: [breakglass@example.com] } }/')"
expect "... and the evidence says whom it excludes" \
	"admin-portal: sign-in-risk (excludes groups staff and users breakglass@example.com)" \
	"$(jq -r '.controls[] | select(.id == "sign-in-risk-policy") | .evidence[0]' "$work/exgroup.json")"
expect "a device and sign-in frequency policy on one user covers hr only partly" \
	"compliant-device-sensitive=partly trusted-network-no-free-pass=partly sign-in-frequency-sensitive=partly policies-tested=partly" \
	"$(variant oneuser '/^  - id: hr-device$/,/^    users:/s/^    users: .*/    users: { include: { users: [ann] } }/')"
expect "a strength an acr also meets is partly" "phishing-resistant-mfa-privileged=partly" \
	"$(variant acr 's/^  - { id: phishing-resistant, combinations: \[\[hwk\], \[sc\]\] }$/  - { id: phishing-resistant, combinations: [[hwk], [sc]], acr: [urn:example:loa2] }/')"

# --- an output that cannot be written ------------------------------------------------------------
for format in "" --json --csv; do
	"$pdp" coverage -c "$root/deploy/pdp.yaml" "$root/policies" $format >/dev/full 2>"$work/err"
	expect "${format:-Markdown} to a full device: 2" 2 $?
	expect_match "${format:-Markdown} to a full device: says so" "could not be written" "$(cat "$work/err")"
done

# --- usage --------------------------------------------------------------------------------------
expect "no arguments: a usage error" 2 "$(rc "$pdp" coverage)"
expect_match "no arguments: says what it needs" \
	'^pdp coverage: needs a config file \(-c CONFIG\) or a policy directory \(POLICY_DIR\)' \
	"$("$pdp" coverage 2>&1)"
expect "--json and --csv: a usage error" 2 "$(rc "$pdp" coverage --json --csv "$root/policies")"
expect "--fail-below with no stage name: a usage error" 2 "$(rc "$pdp" coverage --fail-below best "$root/policies")"
expect_match "--fail-below names the stages" 'fail-below takes traditional, initial, advanced or optimal, not "best"' \
	"$("$pdp" coverage --fail-below best "$root/policies" 2>&1)"
expect "an unknown option: a usage error" 2 "$(rc "$pdp" coverage --xml "$root/policies")"
expect "policies that do not load: 2" 2 "$(rc "$pdp" coverage "$work/nowhere")"

# --- a checklist extended without code ---------------------------------------------------------
cp "$root/pdp/src/evidence/ztmm-checklist.yaml" "$work/checklist.yaml"
cat >>"$work/checklist.yaml" <<'YAML'
  - id: payroll-writes-mfa
    title: Payroll changes need MFA
    pillar: Applications and Workloads
    function: Application Access
    stage: initial
    sources: [ztmm-v2]
    rationale: Payroll changes move money.
    check: { kind: require_grant, grant: [mfa], apps: payroll }
  - id: payroll-writes-device
    title: Payroll changes need a compliant device
    pillar: Devices
    function: Policy Enforcement & Compliance Monitoring
    stage: advanced
    sources: [ztmm-v2]
    rationale: Payroll changes move money.
    check: { kind: require_grant, grant: [compliant_device], apps: payroll }
YAML
sed -i 's/^app_classes:$/app_classes:\n  - { id: payroll, apps: ["payroll-write"] }/' "$work/checklist.yaml"
"$pdp" coverage -c "$root/deploy/pdp.yaml" --checklist "$work/checklist.yaml" "$root/policies" --json \
	>"$work/ext.json" 2>/dev/null
expect "--checklist: exit 0" 0 $?
expect "--checklist: the new controls are assessed by an existing kind" \
	"payroll-writes-mfa=met payroll-writes-device=not_met" \
	"$(results "$work/ext.json" | tail -2 | tr '\n' ' ' | sed 's/ $//')"
expect "--checklist: named in the document" "$work/checklist.yaml" "$(jq -r .checklist.file "$work/ext.json")"

printf 'checklist: { id: x, title: X, version: 1 }\nsources: []\napp_classes: []\ncontrols:\n  - id: c\n    title: T\n    pillar: Identity\n    function: F\n    stage: initial\n    rationale: R\n    check: { kind: require_grant, grant: [mfa], apps: privileged }\n' \
	>"$work/broken.yaml"
out=$("$pdp" coverage --checklist "$work/broken.yaml" "$root/policies" 2>&1)
expect "a broken checklist: exit 2" 2 $?
expect "a broken checklist: file:line:col and the reason" \
	"$work/broken.yaml:11:55: no app class has id \"privileged\" (nor is it \"all\")" "$out"
expect_match "a missing checklist: its name and why" "nothere.yaml: No such file" \
	"$("$pdp" coverage --checklist "$work/nothere.yaml" "$root/policies" 2>&1)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
