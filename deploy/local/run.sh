#!/bin/sh
# `make run`: the local stack without Docker. A PostgreSQL cluster and a Redis
# live under .run/ (kept between runs, ignored by git); the services run in the
# foreground of this script, and Ctrl-C stops everything it started.
#
#   sh deploy/local/run.sh <build dir>
#
# Ports (override in the environment): PG_PORT 55432, REDIS_PORT 56379,
# USERS_PORT 50051, POSTS_PORT 50052, AUTH_PORT 50053, API_PORT 3000; the
# services bind GRPC_HOST 127.0.0.1. Any
# variable of the services (API.md §4) may be set too. SEED=1 loads the demo
# users and posts (deploy/local/seed.sh) once the stack is healthy.
set -eu

build=$1
root=$(pwd)
dir=${RUN_DIR:-$root/.run}
pg_port=${PG_PORT:-55432}
redis_port=${REDIS_PORT:-56379}
users_port=${USERS_PORT:-50051}
posts_port=${POSTS_PORT:-50052}
auth_port=${AUTH_PORT:-50053}
api_port=${API_PORT:-3000}
stack="sh $root/deploy/local/stack.sh"
pids=""

stop_all() {
	trap - INT TERM EXIT
	echo
	echo "run: stopping..."
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	$stack redis-stop "$dir" || true
	$stack pg-stop "$dir" || true
	echo "run: stopped"
}

mkdir -p "$dir"
$stack pg-init "$dir"
$stack pg-start "$dir" "$pg_port"
trap stop_all INT TERM EXIT
$stack redis-start "$dir" "$redis_port"

export DATABASE_URL="${DATABASE_URL:-postgresql://app@127.0.0.1:$pg_port/app}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$redis_port}"
export LOG_FORMAT="${LOG_FORMAT:-pretty}"
# The gRPC services listen on loopback only: nothing but this machine's
# processes reaches them (compose and Kubernetes keep them on their own
# networks). GRPC_HOST=0.0.0.0 opens them up again.
export GRPC_HOST="${GRPC_HOST:-127.0.0.1}"
# Every process finds the others here (the gateway, users and posts -> auth for
# API keys, auth -> users at login, posts -> users for authors' names).
export USERS_ADDR="${USERS_ADDR:-127.0.0.1:$users_port}"
export POSTS_ADDR="${POSTS_ADDR:-127.0.0.1:$posts_port}"
export AUTH_ADDR="${AUTH_ADDR:-127.0.0.1:$auth_port}"
# SEED=1: the demo admin (deploy/local/seed.sh makes the others through the API).
if [ "${SEED:-0}" = 1 ]; then
	export ADMIN_EMAIL="${ADMIN_EMAIL:-admin@example.com}"
	export ADMIN_PASSWORD="${ADMIN_PASSWORD:-admin-password}"
fi

# Waits until a command succeeds (30 s at most).
wait_for() {
	what=$1
	shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 60 ]; then
			echo "run: $what did not become ready" >&2
			exit 1
		fi
		sleep 0.5
	done
}

# Auth first: it owns revocation state, which every other process loads
# before its named service reports SERVING.
GRPC_PORT=$auth_port "$build/bin/auth-service" &
pids="$pids $!"
wait_for "auth service" "$build/bin/grpc-health-probe" "127.0.0.1:$auth_port" \
	agentos.auth.v1.AuthService 500

GRPC_PORT=$users_port "$build/bin/users-service" &
pids="$pids $!"
wait_for "users service" "$build/bin/grpc-health-probe" "127.0.0.1:$users_port" \
	agentos.users.v1.UsersService 500

GRPC_PORT=$posts_port "$build/bin/posts-service" &
pids="$pids $!"
wait_for "posts service" "$build/bin/grpc-health-probe" "127.0.0.1:$posts_port" \
	agentos.posts.v1.PostsService 500

API_PORT=$api_port "$build/bin/gateway" &
pids="$pids $!"
wait_for "a healthy stack (GET /health)" curl -sf -o /dev/null "http://127.0.0.1:$api_port/health"

if [ "${SEED:-0}" = 1 ]; then
	sh "$root/deploy/local/seed.sh" "http://127.0.0.1:$api_port/api/v1"
fi

cat <<MSG

run: the stack is up (data in $dir)
  REST API              http://127.0.0.1:$api_port/api/v1
  users service (gRPC)  127.0.0.1:$users_port   health: $build/bin/grpc-health-probe 127.0.0.1:$users_port
  posts service (gRPC)  127.0.0.1:$posts_port   health: $build/bin/grpc-health-probe 127.0.0.1:$posts_port
  auth service (gRPC)   127.0.0.1:$auth_port   health: $build/bin/grpc-health-probe 127.0.0.1:$auth_port
  PostgreSQL            $DATABASE_URL
  Redis                 $REDIS_URL
Try:
  curl -s -X POST http://127.0.0.1:$api_port/api/v1/users -H 'Content-Type: application/json' \\
       -d '{"email":"ada@example.com","password":"correct horse","name":"Ada"}'
Press Ctrl-C to stop.

MSG
wait
