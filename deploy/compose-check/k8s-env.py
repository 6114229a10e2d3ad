#!/usr/bin/env python3
"""deploy/compose-check/k8s-env.py MANIFEST OUT: the environment Kubernetes
gives the container of MANIFEST's Deployment, as a podman --env-file.

Every key of deploy/k8s/configmap.yaml (envFrom), then the container's own
`env` entries: literal values as written; values from the Secret replaced by
test values that reach the compose stack's stand-ins, because the Secret
holds placeholders on purpose (a too-short JWT_SECRET, a managed PostgreSQL
with TLS). Optional Secret keys (ADMIN_*) are left out, as Kubernetes does
when the Secret lacks them.
"""
import os
import sys

import yaml

K8S = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8s")

# The Secret's keys, for this test only: the compose stack's database and
# Redis, and a random production-strength key.
SECRET_FOR_TEST = {
    "DATABASE_URL": "postgresql://agentos:agentos-dev-only@postgres:5432/agentos",
    "REDIS_URL": "redis://redis:6379/0",
    "JWT_SECRET": os.environ.get("CC_JWT_SECRET", ""),
}


def main():
    manifest, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(K8S, "configmap.yaml")) as f:
        env = dict(yaml.safe_load(f)["data"])
    deployment = None
    with open(manifest) as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") == "Deployment":
                deployment = doc
    if deployment is None:
        sys.exit("k8s-env: no Deployment in " + manifest)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    refs = [r.get("configMapRef", {}).get("name") for r in container.get("envFrom", [])]
    if refs != ["agentos-config"]:
        sys.exit("k8s-env: %s: envFrom is %r, expected the agentos-config ConfigMap" % (manifest, refs))
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        ref = e["valueFrom"]["secretKeyRef"]
        if ref.get("optional"):
            continue
        env[e["name"]] = SECRET_FOR_TEST[ref["key"]]
    with open(out, "w") as f:
        for k, v in env.items():
            f.write("%s=%s\n" % (k, v))


if __name__ == "__main__":
    main()
