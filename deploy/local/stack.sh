#!/bin/sh
# stack.sh - a throwaway PostgreSQL cluster and Redis under one folder, for
# `make run` and the integration tests (tests/integration/support/stack.c).
#
#   stack.sh pg-init DIR          initdb DIR/pg (superuser "app", trust auth) once
#   stack.sh pg-start DIR PORT    postgres on 127.0.0.1:PORT; creates database "app"
#   stack.sh pg-stop DIR          fast shutdown, waits for it
#   stack.sh redis-start DIR PORT redis-server on 127.0.0.1:PORT, data in DIR/redis
#   stack.sh redis-stop DIR       stops it without saving, waits until gone
#
# Starting what already runs, or stopping what is not running, succeeds.
# STACK_FAST=1 turns off fsync and friends (tests only: a crash loses data).
# PostgreSQL refuses to run as root: as root, it runs as user "nobody" (or
# STACK_PG_USER), which owns DIR/pg; DIR and its parents must be traversable.
# Logs: DIR/pg.log and DIR/redis.log. Errors go to stderr with a non-zero exit.
set -eu

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${STACK_PG_USER:-nobody}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}

die() {
	echo "stack.sh: $*" >&2
	exit 1
}

usage() {
	die "usage: stack.sh pg-init DIR | pg-start DIR PORT | pg-stop DIR |" \
		"redis-start DIR PORT | redis-stop DIR"
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

check_port() {
	case "$1" in
	'' | *[!0-9]*) die "port must be a number: '$1'" ;;
	esac
	if [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
		die "port out of range: $1"
	fi
}

# Absolute path of an existing folder.
abs_dir() {
	[ -d "$1" ] || die "no such folder: $1"
	(cd "$1" && pwd -P)
}

# Runs a PostgreSQL tool as the cluster's owner (the caller when not root),
# from a folder that user can enter.
as_pg() {
	if is_root; then
		(cd / && runuser -u "$PG_USER" -- "$@")
	else
		"$@"
	fi
}

# As root, makes DIR and every parent traversable by the PostgreSQL user
# (mkdtemp creates 0700 folders; postgres must reach DIR/pg). Walks from / down
# so that only the folders that block the way are changed.
make_traversable() {
	is_root || return 0
	path=""
	rest=${1#/}
	while [ -n "$rest" ]; do
		path="$path/${rest%%/*}"
		case "$rest" in
		*/*) rest=${rest#*/} ;;
		*) rest="" ;;
		esac
		if ! runuser -u "$PG_USER" -- test -x "$path" 2>/dev/null; then
			chmod o+x "$path" || die "cannot make $path traversable for $PG_USER"
		fi
	done
}

# A file the PostgreSQL user may write, owned by it when we are root.
pg_owned() {
	if is_root; then
		chown "$PG_USER" "$1" || die "cannot chown $1 to $PG_USER"
	fi
}

pg_running() {
	[ -f "$1/pg/postmaster.pid" ] || return 1
	as_pg "$PG_BIN/pg_ctl" status -D "$1/pg" >/dev/null 2>&1
}

pg_init() {
	mkdir -p "$1"
	dir=$(abs_dir "$1")
	[ -f "$dir/pg/PG_VERSION" ] && return 0
	[ -x "$PG_BIN/initdb" ] || die "initdb not found in $PG_BIN (install postgresql)"
	if is_root; then
		id "$PG_USER" >/dev/null 2>&1 || die "user $PG_USER does not exist"
	fi
	make_traversable "$dir"
	mkdir -p "$dir/pg"
	chmod 700 "$dir/pg"
	pg_owned "$dir/pg"
	: >"$dir/initdb.log"
	pg_owned "$dir/initdb.log"
	if ! as_pg "$PG_BIN/initdb" -D "$dir/pg" --username=app --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		die "initdb failed for $dir/pg (log: $dir/initdb.log)"
	fi
}

# Socket folder inside DIR, or none when the path would exceed the 107-byte
# limit of a unix socket address (TCP is what clients use anyway).
pg_socket_dir() {
	sock="$1/sock"
	if [ $((${#sock} + 20)) -gt 100 ]; then
		echo ""
		return 0
	fi
	mkdir -p "$sock"
	pg_owned "$sock"
	echo "$sock"
}

pg_wait_ready() {
	i=0
	while ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$2" -d postgres -U app; do
		i=$((i + 1))
		[ "$i" -le 300 ] || die "PostgreSQL on port $2 not ready after 30 s (log: $1/pg.log)"
		sleep 0.1
	done
}

pg_create_app_db() {
	psql_cmd="$PG_BIN/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $2 -U app -d postgres -tA"
	have=$($psql_cmd -c "SELECT 1 FROM pg_database WHERE datname = 'app'") ||
		die "cannot query PostgreSQL on port $2 (log: $1/pg.log)"
	[ "$have" = "1" ] && return 0
	$psql_cmd -c 'CREATE DATABASE app' >/dev/null ||
		die "cannot create database app on port $2"
}

pg_start() {
	dir=$(abs_dir "$1")
	check_port "$2"
	[ -f "$dir/pg/PG_VERSION" ] || die "no cluster in $dir/pg (run pg-init first)"
	if pg_running "$dir"; then
		running_port=$(sed -n 4p "$dir/pg/postmaster.pid" 2>/dev/null || true)
		if [ -n "$running_port" ] && [ "$running_port" != "$2" ]; then
			die "PostgreSQL in $dir/pg already runs on port $running_port, not $2"
		fi
	else
		make_traversable "$dir"
		[ -f "$dir/pg.log" ] || : >"$dir/pg.log"
		pg_owned "$dir/pg.log"
		sock=$(pg_socket_dir "$dir")
		opts="-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories='$sock'"
		# Statement counts let tests prove "one query per page" (no N+1).
		opts="$opts -c shared_preload_libraries=pg_stat_statements"
		if [ "${STACK_FAST:-0}" = "1" ]; then
			opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		fi
		if ! as_pg "$PG_BIN/pg_ctl" start -D "$dir/pg" -l "$dir/pg.log" -w -t 30 \
			-o "$opts" >/dev/null; then
			tail -n 20 "$dir/pg.log" >&2 || true
			die "PostgreSQL failed to start on port $2 (log: $dir/pg.log)"
		fi
	fi
	pg_wait_ready "$dir" "$2"
	pg_create_app_db "$dir" "$2"
}

pg_stop() {
	dir=$(abs_dir "$1")
	pg_running "$dir" || return 0
	if ! as_pg "$PG_BIN/pg_ctl" stop -D "$dir/pg" -m fast -w -t 60 >/dev/null; then
		die "PostgreSQL in $dir/pg did not stop (log: $dir/pg.log)"
	fi
}

# A live process: exists and is not a zombie waiting for init to reap it
# (a daemon's parent is init, which may reap late).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ]; then
		state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
		[ "$state" != "Z" ] || return 1
	fi
	return 0
}

redis_pid() {
	pidfile="$1/redis/redis.pid"
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	case "$pid" in
	'' | *[!0-9]*) return 1 ;;
	esac
	alive "$pid" || return 1
	echo "$pid"
}

redis_start() {
	dir=$(abs_dir "$1")
	check_port "$2"
	command -v "$REDIS_SERVER" >/dev/null 2>&1 || die "$REDIS_SERVER not found (install redis-server)"
	mkdir -p "$dir/redis"
	if redis_pid "$dir" >/dev/null; then
		if [ "$("$REDIS_CLI" -h 127.0.0.1 -p "$2" PING 2>/dev/null)" != "PONG" ]; then
			die "Redis from $dir already runs, but not on port $2"
		fi
	else
		rm -f "$dir/redis/redis.pid"
		"$REDIS_SERVER" --port "$2" --bind 127.0.0.1 --dir "$dir/redis" --save '' \
			--appendonly no --daemonize yes --pidfile "$dir/redis/redis.pid" \
			--logfile "$dir/redis.log" ||
			die "redis-server failed to start on port $2 (log: $dir/redis.log)"
	fi
	i=0
	while [ "$("$REDIS_CLI" -h 127.0.0.1 -p "$2" PING 2>/dev/null)" != "PONG" ]; do
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
			die "Redis on port $2 not answering after 10 s (log: $dir/redis.log)"
		fi
		sleep 0.1
	done
}

redis_stop() {
	dir=$(abs_dir "$1")
	pid=$(redis_pid "$dir") || return 0
	# With --save '' a SIGTERM shuts down without writing anything.
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while alive "$pid"; do
		i=$((i + 1))
		if [ "$i" -eq 100 ]; then
			echo "stack.sh: Redis (pid $pid) ignored SIGTERM for 10 s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		[ "$i" -le 200 ] || die "Redis (pid $pid) did not exit"
		sleep 0.1
	done
	rm -f "$dir/redis/redis.pid"
}

[ $# -ge 2 ] || usage
cmd=$1
case "$cmd" in
pg-init) [ $# -eq 2 ] || usage; pg_init "$2" ;;
pg-start) [ $# -eq 3 ] || usage; pg_start "$2" "$3" ;;
pg-stop) [ $# -eq 2 ] || usage; pg_stop "$2" ;;
redis-start) [ $# -eq 3 ] || usage; redis_start "$2" "$3" ;;
redis-stop) [ $# -eq 2 ] || usage; redis_stop "$2" ;;
*) usage ;;
esac
