#!/usr/bin/env bash
# Regenerates proto/openapi/hpo.openapi.json from proto/hpo/v1/hpo.proto. Run it
# after changing the API; //proto/openapi:openapi_test fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //proto/openapi:hpo_openapi
cp -f bazel-bin/proto/openapi/hpo.openapi.generated.json proto/openapi/hpo.openapi.json
chmod 644 proto/openapi/hpo.openapi.json
echo "updated proto/openapi/hpo.openapi.json" >&2
