#!/usr/bin/env bash
# Installs the Debian 12 packages the PDP needs to build, test and run; only
# what is missing, so a prepared machine costs one dpkg query.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libfcgi-dev libjwt-dev libssl-dev libyaml-dev libjansson-dev libcmocka-dev libhiredis-dev
	nginx-light libfcgi-bin redis-server redis-tools curl openssl procps
	clang libclang-rt-14-dev
	wrk jq gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
