#!/bin/sh
# Installs the Debian packages the project needs, only those missing.
# Idempotent: a second run installs nothing and takes a fraction of a second.
#
#   sh deploy/deps.sh                  what make, make test and make run need
#   sh deploy/deps.sh compose-check    only what make compose-check needs
#                                      (podman and friends; never for make test)
set -eu

PKGS="build-essential pkg-config
libgrpc-dev protobuf-c-compiler libprotobuf-c-dev
libmicrohttpd-dev libjansson-dev libhiredis-dev libjwt-dev libargon2-dev libpq-dev
libcmocka-dev libcurl4-openssl-dev
postgresql redis-server util-linux curl
docker-compose pmccabe clang clang-format libclang-rt-14-dev wrk nghttp2-client"
if [ "${1:-}" = compose-check ]; then
	# Podman 4.3 driven through its Docker API by docker-compose; netavark and
	# aardvark-dns give compose networks their DNS; debootstrap makes the base image.
	PKGS="podman runc netavark aardvark-dns debootstrap docker-compose curl python3-yaml"
fi

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# Node.js runs the contract checks' validators (tests/contract). Any node with
# npm will do (a NodeSource nodejs bundles npm and conflicts with Debian's).
[ "${1:-}" = compose-check ] || command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
# promtool lints the gateway's /metrics (gateway_metrics_rest_it); Debian ships it
# only inside the prometheus package.
[ "${1:-}" = compose-check ] || command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install:$missing" >&2; exit 1; }
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# The package index may be stale or absent on a fresh machine.
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# Only promtool was wanted: the Prometheus server that the package enables
# and starts (on machines with systemd) is stopped and disabled again.
case "$missing" in
*" prometheus"*)
	if command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
	fi
	;;
esac
