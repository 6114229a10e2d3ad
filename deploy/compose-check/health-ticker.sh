#!/bin/sh
# deploy/compose-check/health-ticker.sh - runs the containers' health checks.
#
# Docker's engine runs each container's health check every `interval` by
# itself; podman 4.3 leaves the schedule to systemd timers, and these machines
# have no systemd, so nothing would ever run a check and every
# `depends_on: condition: service_healthy` would wait forever. This loop is
# that timer: for each running container of the compose project that has a
# health check, `podman healthcheck run` (which runs the compose file's own
# test command and applies its timeout, retries and start_period) once per
# interval, the first one interval after the container started, as Docker
# does. It runs until killed (check.sh stops it).
set -u
. "$(dirname "$0")/lib.sh"

state="$CC_CACHE/ticker"
rm -rf "$state"
mkdir -p "$state"

# interval_of ID: the health check interval in whole seconds (0: no check;
# a check without an interval runs every 30 s, Docker's default).
interval_of() {
	_s=$(podman inspect --format '{{if .Config.Healthcheck}}{{printf "%.0f" .Config.Healthcheck.Interval.Seconds}}{{else}}none{{end}}' "$1" 2>/dev/null) || _s=none
	case "$_s" in
	none | '' | *[!0-9]*) echo 0 ;;
	0) echo 30 ;;
	*) echo "$_s" ;;
	esac
}

while :; do
	now=$(date +%s)
	ids=$(podman ps -q --no-trunc --filter "label=com.docker.compose.project=$CC_PROJECT" 2>/dev/null) || ids=""
	for id in $ids; do
		f="$state/$id"
		if [ ! -f "$f" ]; then
			# New (or restarted) container: its first check is one interval away.
			printf '%s %s\n' "$(interval_of "$id")" "$now" > "$f"
		fi
		read -r every last < "$f"
		[ "$every" -gt 0 ] || continue
		[ $((now - last)) -ge "$every" ] || continue
		printf '%s %s\n' "$every" "$now" > "$f"
		podman healthcheck run "$id" >/dev/null 2>&1 &
	done
	# A stopped container starts over when it is started again.
	for f in "$state"/*; do
		[ -f "$f" ] || continue
		case " $(echo "$ids" | tr '\n' ' ') " in
		*" ${f##*/} "*) ;;
		*) rm -f "$f" ;;
		esac
	done
	sleep 1
done
