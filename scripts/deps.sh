#!/usr/bin/env bash
# Installs the Debian 12 packages of a profile; only what is missing, so a
# prepared machine costs one dpkg query.
#   deps.sh run     what scripts/demo.sh builds and runs: the daemon and pdp-mint
#                   (no unit tests, no load tools), nginx, Redis and curl
#   deps.sh [test]  run's, plus what scripts/test.sh needs: cmocka and libfcgi for
#                   the unit tests and the harness, clang for the fuzzers, the tools
#                   the integration tests and the load harness call, node + npm for
#                   the OpenID provider the identity-provider test runs (tests/idp), and
#                   chromium, the headless browser the report page is opened in (tests/browser)
#   deps.sh --list PROFILE   prints the profile's packages, one a line; installs nothing
set -euo pipefail

# libssl-dev, libjwt-dev: the daemon links OpenSSL, pdp-mint libjwt too; libcurl4-openssl-dev:
# the daemon fetches issuers' keys with libcurl (on OpenSSL, as the rest); procps: ps,
# with which lib.sh waits for Redis to exit; curl: the demo's calls; zlib1g-dev: `pdp report`
# reads gzip logs.
run_packages=(
	build-essential cmake pkg-config
	libjwt-dev libssl-dev libyaml-dev libjansson-dev libhiredis-dev libcurl4-openssl-dev libhttp-parser-dev
	zlib1g-dev nginx-light redis-server redis-tools curl procps
)
test_packages=(
	"${run_packages[@]}"
	libcmocka-dev libfcgi-dev libfcgi-bin openssl jq
	clang libclang-rt-14-dev
	wrk gnuplot-nox time
	nodejs npm
	chromium
)

list=0
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
case ${1:-test} in
run) packages=("${run_packages[@]}") ;;
test) packages=("${test_packages[@]}") ;;
*)
	echo "usage: deps.sh [--list] [run | test]" >&2
	exit 2
	;;
esac
if [ $list = 1 ]; then
	printf '%s\n' "${packages[@]}"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	# A nodejs that bundles npm (NodeSource's) provides it, and conflicts with Debian's.
	[ "$p" = npm ] && command -v npm >/dev/null && continue
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
