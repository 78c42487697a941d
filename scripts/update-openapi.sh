#!/usr/bin/env bash
# Regenerates server/rest/openapi/hpo.openapi.json from proto/hpo/v1/hpo.proto. Run it
# after changing the API; //server/rest/openapi:openapi_test fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //server/rest/openapi:hpo_openapi
cp -f bazel-bin/server/rest/openapi/hpo.openapi.generated.json server/rest/openapi/hpo.openapi.json
chmod 644 server/rest/openapi/hpo.openapi.json
echo "updated server/rest/openapi/hpo.openapi.json" >&2
