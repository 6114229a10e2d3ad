#!/bin/sh
# deploy/compose-check/check.sh - `make compose-check`: the real
# docker-compose.yml and deploy/Dockerfile, built and run with podman.
#
#  1. a Debian bookworm base image from debootstrap (base-image.sh; cached)
#  2. TEST-ONLY stand-ins for postgres:15-bookworm and redis:7-bookworm, built
#     from Debian's packages (standins/): no image registry is reachable here,
#     so the official images cannot be pulled. They are tagged with the names
#     docker-compose.yml uses and are NOT those images.
#  3. `podman system service` (the Docker API) on a socket in the cache, and
#     Debian's docker-compose through DOCKER_HOST: `docker-compose build`
#     (every image from deploy/Dockerfile) and `up -d`, which waits for the
#     compose file's own health checks (podman runs them: health-ticker.sh)
#  4. every container healthy; GET /health 200 with every check ok
#  5. README.md's walk-through against the published port (walkthrough.sh)
#  6. the images: non-root, runtime libraries only, sizes (images.sh)
#  7. each binary with the Kubernetes ConfigMap's variables (k8s-env.sh)
#  8. `docker-compose stop posts`: /health 503 and the posts routes 503;
#     `docker-compose start posts`: both recover
#  9. `docker-compose down -v`: no container, network or volume of the run left
#
# Needs root (podman here runs rootful) and the packages of
# `sh deploy/deps.sh compose-check`. Everything podman stores lives under
# COMPOSE_CHECK_CACHE (default ~/.cache/agentos-compose-check); delete it for
# a cold run. The compose project is COMPOSE_CHECK_PROJECT (agentoscheck).
# COMPOSE_CHECK_KEEP=1 leaves a failed run's stack, podman service and health
# ticker running (their ids are printed) instead of taking them down.
set -eu
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || cc_fail "needs root: podman runs rootful here (no subordinate uid ranges)"
for c in podman runc debootstrap docker-compose curl python3 /usr/lib/podman/netavark /usr/lib/podman/aardvark-dns; do
	command -v "$c" >/dev/null 2>&1 || cc_fail "$c is missing: run sh deploy/deps.sh compose-check"
done

mkdir -p "$CC_CACHE"
cc_storage_conf
SOCK="$CC_CACHE/podman.sock"
export DOCKER_HOST="unix://$SOCK"
# Compose's variables: a free host port for the gateway; the rest are the
# file's development defaults (a user's first `docker compose up`).
GATEWAY_PORT=$(cc_free_port)
APP_VERSION=$(git -C "$CC_ROOT" describe --always --dirty 2>/dev/null || echo dev)
export GATEWAY_PORT APP_VERSION
unset JWT_SECRET POSTGRES_PASSWORD ADMIN_EMAIL ADMIN_PASSWORD APP_ENV RATE_LIMIT_ENABLED LOG_LEVEL || true
B="http://127.0.0.1:$GATEWAY_PORT"
compose() {
	docker-compose --project-directory "$CC_ROOT" -f "$CC_ROOT/docker-compose.yml" -p "$CC_PROJECT" "$@"
}

service_pid=""
ticker_pid=""
# remove_leftovers: k8s-env.sh's containers (not compose's, but on its
# network), then the compose project with its volumes.
remove_leftovers() {
	for c in users posts auth gateway; do
		podman rm -f -t 0 "${CC_PROJECT}-k8s-$c" >/dev/null 2>&1 || true
	done
	compose down -v --remove-orphans >/dev/null 2>&1 || true
}
finish() {
	status=$?
	trap - EXIT INT TERM
	if [ "$status" -ne 0 ] && [ -n "$service_pid" ]; then
		echo "compose-check: the containers' last log lines:" >&2
		compose logs --no-color --tail=25 >&2 2>&1 || true
	fi
	if [ "$status" -ne 0 ] && [ "${COMPOSE_CHECK_KEEP:-0}" = 1 ] && [ -n "$service_pid" ]; then
		echo "compose-check: COMPOSE_CHECK_KEEP=1: left running for a look (DOCKER_HOST=$DOCKER_HOST," >&2
		echo "  CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF);" >&2
		echo "  podman service pid $service_pid, health ticker pid $ticker_pid, gateway $B" >&2
		exit "$status"
	fi
	if [ -n "$service_pid" ]; then
		remove_leftovers
	fi
	[ -z "$ticker_pid" ] || kill "$ticker_pid" 2>/dev/null || true
	[ -z "$service_pid" ] || kill "$service_pid" 2>/dev/null || true
	[ "$status" -eq 0 ] && cc_log "PASS"
	exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---- 1, 2: images that need no registry ----------------------------------------
sh "$CC_HERE/base-image.sh"
cc_log "stand-ins (TEST-ONLY, not the official images): postgres:15-bookworm, redis:7-bookworm from Debian packages"
nice -n 10 podman build -q --format docker -t docker.io/library/postgres:15-bookworm \
	"$CC_HERE/standins/postgres" >/dev/null
nice -n 10 podman build -q --format docker -t docker.io/library/redis:7-bookworm \
	"$CC_HERE/standins/redis" >/dev/null

# ---- 3: podman's Docker API, docker-compose build + up ---------------------------
rm -f "$SOCK"
nice -n 10 podman system service --time=0 "unix://$SOCK" > "$CC_CACHE/service.log" 2>&1 &
service_pid=$!
cc_wait 30 "podman system service on $SOCK" curl -sf --unix-socket "$SOCK" http://d/_ping
remove_leftovers
# What exists before the run (of other projects, or earlier experiments):
# after `down -v` nothing else may be there.
inventory() {
	{
		podman ps -aq --no-trunc
		podman network ls -q
		podman volume ls -q
	} | sort
}
inventory > "$CC_CACHE/before"
sh "$CC_HERE/health-ticker.sh" &
ticker_pid=$!

cc_log "docker-compose build (deploy/Dockerfile, every target; log: $CC_CACHE/build.log)"
compose build > "$CC_CACHE/build.log" 2>&1 ||
	{ tail -30 "$CC_CACHE/build.log" >&2; cc_fail "docker-compose build"; }
cc_log "docker-compose up -d (waits for each dependency's health check)"
timeout 400 docker-compose --project-directory "$CC_ROOT" -f "$CC_ROOT/docker-compose.yml" \
	-p "$CC_PROJECT" up -d --no-build || cc_fail "docker-compose up -d"

# ---- 4: every health check passes ---------------------------------------------------
all_healthy() {
	n=0
	for id in $(podman ps -aq --filter "label=com.docker.compose.project=$CC_PROJECT"); do
		[ "$(podman inspect --format '{{.State.Health.Status}}' "$id")" = healthy ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq 6 ]
}
cc_wait 120 "all six containers healthy" all_healthy
cc_log "all six containers healthy (the compose file's health checks); gateway on $B"

# http_is CODE URL: GET URL answers CODE; the body is kept in $CC_CACHE/body.
http_is() {
	[ "$(curl -s -o "$CC_CACHE/body" -w '%{http_code}' --max-time 5 "$2")" = "$1" ]
}
body_has() {
	for _p in "$@"; do
		grep -qF "$_p" "$CC_CACHE/body" || cc_fail "expected $_p in: $(cat "$CC_CACHE/body")"
	done
}
http_is 200 "$B/health" || cc_fail "GET /health: $(cat "$CC_CACHE/body")"
body_has '"status":"ok"' "\"version\":\"$APP_VERSION\"" '"checks":{"database":"ok","redis":"ok","users":"ok","posts":"ok","auth":"ok","revocation":"ok"}'
cc_log "GET /health: 200, version $APP_VERSION, database, redis, users, posts and auth all ok"

# ---- 5, 6, 7 ---------------------------------------------------------------------------
sh "$CC_HERE/walkthrough.sh" "$GATEWAY_PORT"
sh "$CC_HERE/images.sh"
sh "$CC_HERE/k8s-env.sh"

# ---- 8: a service stops and comes back ---------------------------------------------------
compose stop posts >/dev/null 2>&1
cc_wait 20 "GET /health 503 with posts stopped" http_is 503 "$B/health"
body_has '"status":"error"' '"posts":"error"' '"users":"ok"' '"auth":"ok"' '"redis":"ok"' '"revocation":"ok"'
# The posts routes: one request at a time until a prompt 503. Right after the
# stop the first calls may wait for the whole GRPC_DEADLINE_MS (5 s; a 504, or
# a slow 503), presumably while the gateway's channel still tries the stopped
# container's address: they are allowed for 30 s, and reported.
slow=""
end=$(($(date +%s) + 30))
while :; do
	res=$(curl -s -o "$CC_CACHE/body" -w '%{http_code} %{time_total}' --max-time 10 "$B/api/v1/posts") || true
	case "$res" in
	"503 "[0-4].*) break ;;
	"503 "* | "504 "* | "000 "*) slow="$slow ${res% *} after ${res#* }s;" ;;
	*) cc_fail "GET /api/v1/posts with posts stopped: $res $(cat "$CC_CACHE/body")" ;;
	esac
	[ "$(date +%s)" -lt "$end" ] || cc_fail "GET /api/v1/posts: no prompt 503 within 30 s of the stop:$slow"
done
body_has '{"success":false,"error":{"code":"SERVICE_UNAVAILABLE"'
# The users routes still work: a sign-up is 201.
code=$(curl -s -o "$CC_CACHE/body" -w '%{http_code}' --max-time 10 -X POST "$B/api/v1/users" \
	-H 'Content-Type: application/json' \
	-d '{"email":"grace@example.com","password":"correct horse","name":"Grace"}')
[ "$code" = 201 ] || cc_fail "POST /api/v1/users with posts stopped: $code $(cat "$CC_CACHE/body")"
cc_log "posts stopped: /health 503 (posts error, the rest ok), GET /api/v1/posts 503 SERVICE_UNAVAILABLE, POST /api/v1/users 201"
[ -z "$slow" ] || cc_log "  before the first prompt 503, slow answers:$slow"
compose start posts >/dev/null 2>&1
cc_wait 90 "GET /health 200 after posts started again" http_is 200 "$B/health"
http_is 200 "$B/api/v1/posts" || cc_fail "GET /api/v1/posts after posts started: $(cat "$CC_CACHE/body")"
body_has '"title":"Hello"'
cc_log "posts started: /health 200 and GET /api/v1/posts 200 with the walk-through's post"

# ---- 9: nothing remains ---------------------------------------------------------------------
compose down -v --remove-orphans >/dev/null 2>&1 || cc_fail "docker-compose down -v"
left="$(podman ps -aq --filter "label=com.docker.compose.project=$CC_PROJECT")"
left="$left$(podman ps -a --format '{{.Names}}' | grep "^${CC_PROJECT}" || true)"
left="$left$(podman network ls --format '{{.Name}}' | grep "^${CC_PROJECT}" || true)"
left="$left$(podman volume ls --format '{{.Name}}' | grep "^${CC_PROJECT}" || true)"
# Anonymous volumes and anything unnamed: compare with the inventory.
left="$left$(inventory | comm -13 "$CC_CACHE/before" - | tr '\n' ' ')"
[ -z "$left" ] || cc_fail "left after docker-compose down -v: $left"
cc_log "docker-compose down -v: no container, network or volume of project $CC_PROJECT left"
