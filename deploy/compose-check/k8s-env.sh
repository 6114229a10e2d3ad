#!/bin/sh
# deploy/compose-check/k8s-env.sh - each image's binary starts with the
# environment the Kubernetes manifests give it, under their securityContext.
#
# For users, posts, auth and gateway: the ConfigMap (APP_ENV=production,
# TRUST_PROXY=1, SHUTDOWN_DELAY_MS=5000, ...) plus the Deployment's own env
# (k8s-env.py), run on the compose stack's network as user 10001:10001 with
# a read-only root file system, every capability dropped and no new
# privileges (the pods' securityContext). Passes when the image's own
# HEALTHCHECK (deploy/Dockerfile) turns healthy, then SIGTERM (podman stop)
# ends it with exit status 0 within its grace.
set -eu
. "$(dirname "$0")/lib.sh"

net="${CC_PROJECT}_default"
CC_JWT_SECRET=$(head -c 36 /dev/urandom | base64)
export CC_JWT_SECRET

for name in users posts auth gateway; do
	image="${CC_PROJECT}_${name}"
	ctr="${CC_PROJECT}-k8s-${name}"
	envfile="$CC_CACHE/k8s-${name}.env"
	python3 "$CC_HERE/k8s-env.py" "$CC_ROOT/deploy/k8s/${name}.yaml" "$envfile"
	podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
	podman run -d --name "$ctr" --network "$net" --env-file "$envfile" \
		--user 10001:10001 --read-only --cap-drop ALL --security-opt no-new-privileges \
		"$image" >/dev/null
	end=$(($(date +%s) + 60))
	until podman healthcheck run "$ctr" >/dev/null 2>&1; do
		if [ "$(podman inspect --format '{{.State.Running}}' "$ctr")" != true ] ||
			[ "$(date +%s)" -ge "$end" ]; then
			podman logs "$ctr" 2>&1 | tail -20 >&2
			podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
			cc_fail "k8s env: $name with the ConfigMap's variables did not turn healthy"
		fi
		sleep 1
	done
	podman stop -t 20 "$ctr" >/dev/null
	status=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
	if [ "$status" != 0 ]; then
		podman logs "$ctr" 2>&1 | tail -20 >&2
		podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
		cc_fail "k8s env: $name exited $status on SIGTERM"
	fi
	podman rm "$ctr" >/dev/null
	cc_log "k8s env: $name starts healthy with the ConfigMap's $(wc -l < "$envfile") variables (read-only root, no capabilities, uid 10001) and exits 0 on SIGTERM"
done
