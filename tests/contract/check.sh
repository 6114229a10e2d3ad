#!/bin/sh
# Contract checks, run by `make test` before the test binaries: the files
# other tools read, checked with those tools' validators.
#   - gateway/openapi.json: an OpenAPI 3.1 validator (npm)
#   - deploy/k8s/*.yaml: the Kubernetes schemas (npm kubernetes-models)
#   - docker-compose.yml: docker-compose's own parser (Debian docker-compose)
#   - tests/hygiene/check.sh: banned functions and a complexity ceiling
# It also installs tests/contract's npm packages (package-lock.json, exact
# versions) that the /metrics parser check in gateway_metrics_rest_it and the gRPC
# reflection client in reflection_grpc_it (reflection.mjs) need, and
# makes sure promtool (Debian prometheus), which lints that same /metrics
# after real traffic in gateway_metrics_rest_it, is there.
set -eu
cd "$(dirname "$0")/../.."

dir=tests/contract
stamp=$dir/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
	echo "contract: npm ci (tests/contract)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
command -v promtool >/dev/null 2>&1 || {
	echo "contract: promtool is missing (make deps installs Debian's prometheus)" >&2
	exit 1
}
node "$dir/openapi.mjs"
node "$dir/k8s.mjs"
docker-compose -f docker-compose.yml config -q
echo "compose: docker-compose.yml is valid"
if [ -f tests/hygiene/check.sh ]; then
	sh tests/hygiene/check.sh
fi
