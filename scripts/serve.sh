#!/usr/bin/env bash
# Installs what building the server needs (only that: the tests' tools come with
# scripts/test.sh), builds hpo-server and runs it: gRPC on port 50051, data in
# an SQLite file whose path it prints. Flags are passed on (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --server
bazel build //server:hpo-server >&2
exec bazel-bin/server/hpo-server "$@"
