# deploy/compose-check/lib.sh - shared by check.sh and its steps (sourced).
#
# Podman runs with its own configuration and storage under $CC_CACHE (never
# /etc, never the system's image store): CONTAINERS_CONF is this folder's
# containers.conf, CONTAINERS_STORAGE_CONF a storage.conf written into the
# cache. The cache survives between runs (base image, layers, stand-ins).

# shellcheck disable=SC2034 # used by the scripts that source this file
CC_HERE=$(cd "$(dirname "$0")" && pwd)
CC_ROOT=$(cd "$CC_HERE/../.." && pwd)
CC_CACHE=${COMPOSE_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentos-compose-check}
# The compose project: every container, network and volume of a run has it.
CC_PROJECT=${COMPOSE_CHECK_PROJECT:-agentoscheck}
CC_T0=${CC_T0:-$(date +%s)}
export CC_T0

export CONTAINERS_CONF="$CC_HERE/containers.conf"
export CONTAINERS_STORAGE_CONF="$CC_CACHE/storage.conf"

cc_log() {
	printf 'compose-check [%4ss] %s\n' "$(($(date +%s) - CC_T0))" "$*"
}

cc_fail() {
	printf 'compose-check: FAIL: %s\n' "$*" >&2
	exit 1
}

# cc_storage_conf: the image store lives in the cache, not /var/lib/containers.
cc_storage_conf() {
	mkdir -p "$CC_CACHE/storage" "$CC_CACHE/run"
	cat > "$CC_CACHE/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$CC_CACHE/storage"
runroot = "$CC_CACHE/run"
EOF
}

# cc_free_port: a TCP port nothing listens on (the host is shared).
cc_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# cc_wait SECONDS DESCRIPTION COMMAND...: retry COMMAND every second.
cc_wait() {
	_limit=$1 _what=$2
	shift 2
	_end=$(($(date +%s) + _limit))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_end" ] || cc_fail "$_what: not within ${_limit}s"
		sleep 1
	done
}
