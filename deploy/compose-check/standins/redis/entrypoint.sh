#!/bin/sh
# TEST-ONLY stand-in entrypoint (see the Dockerfile beside it). The official
# image's redis-server is built with protected mode off, so a container with no
# configuration file serves the compose network; Debian's is not, hence
# --protected-mode no here. The server runs as the redis user in /data.
set -eu
if [ "${1:-}" = redis-server ]; then
	shift
	set -- redis-server --protected-mode no --dir /data "$@"
	if [ "$(id -u)" = 0 ]; then
		chown redis:redis /data
		exec setpriv --reuid=redis --regid=redis --init-groups "$@"
	fi
fi
exec "$@"
