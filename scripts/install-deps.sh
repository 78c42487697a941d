#!/usr/bin/env bash
# Installs, from Debian's packages, whatever the build and the tests need and this
# machine lacks. Safe to run again: it installs nothing that is already there.
#
#   scripts/install-deps.sh            the build and every test's tools
#   scripts/install-deps.sh --server   only what building hpo-server needs (serve.sh)
set -euo pipefail

# Building the server and hpoctl.
BUILD_PACKAGES=(
  bazel-bootstrap bazel-rules-proto bazel-skylib bazel-platforms
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libeigen3-dev libsqlite3-dev libyaml-cpp-dev libmicrohttpd-dev
  libgnutls28-dev
  golang-github-grpc-ecosystem-grpc-gateway-dev
  g++
)
# The tests: GoogleTest; python3 for the clients; Prometheus (promtool, and a real
# scraper of /metrics); for k8s/, the image (mmdebstrap, umoci; skopeo reads it
# back) and the wiring test's network namespace; the security tests' certificates
# (openssl) and HTTPS requests (curl); Clang for the thread-safety analysis.
TEST_PACKAGES=(
  libgtest-dev libgmock-dev python3 prometheus
  mmdebstrap umoci skopeo iproute2 util-linux
  openssl curl clang
)
PACKAGES=("${BUILD_PACKAGES[@]}")
server_only=0
if [[ ${1:-} == --server ]]; then
  server_only=1
else
  PACKAGES+=("${TEST_PACKAGES[@]}")
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

((server_only)) && exit 0

# The client stubs, their tests and the examples (scripts/generate-stubs.sh,
# scripts/test-clients.sh): pinned tools from PyPI and the Go module proxy. Each step
# checks first, so a second run installs nothing and prints nothing.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../client_stubs/tools.env
source "$ROOT/client_stubs/tools.env"
PYTHON=${PYTHON:-python3}
REQUIREMENTS=$ROOT/client_stubs/python/requirements-dev.txt
if ! "$PYTHON" - "$REQUIREMENTS" <<'PY'
import re, sys
from importlib.metadata import PackageNotFoundError, version
ok = True
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, _, want = line.partition("==")
        try:
            ok = ok and version(re.sub(r"\[.*\]", "", name)) == want
        except PackageNotFoundError:
            ok = False
sys.exit(0 if ok else 1)
PY
then
  echo "installing Python packages from $REQUIREMENTS" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    -r "$REQUIREMENTS" >&2
fi
# Katib's SDK, only for the API descriptor its wheel ships (third_party/katib/update.py,
# the Katib tests' client): without its dependencies, which pin protobuf<5.
KATIB_REQUIREMENTS=$ROOT/client_stubs/python/requirements-katib.txt
katib_want=$(sed -nE 's/^kubeflow-katib==([^ #]+).*/\1/p' "$KATIB_REQUIREMENTS")
katib_have=$("$PYTHON" -c 'from importlib.metadata import version; print(version("kubeflow-katib"))' \
  2>/dev/null || true)
if [[ $katib_have != "$katib_want" ]]; then
  echo "installing Python packages from $KATIB_REQUIREMENTS (without dependencies)" >&2
  "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
    --no-deps -r "$KATIB_REQUIREMENTS" >&2
fi
if ! command -v go >/dev/null; then
  echo "install-deps: go is needed for the Go client and its tools" >&2
  exit 1
fi
go_tool() { # binary module/path@version
  local have=""
  # Not installed yet is the usual case on a new machine: `go version -m` then
  # fails, which must not end the script (set -e, pipefail).
  if [[ -x $HPO_GO_TOOLS_BIN/$1 ]]; then
    have=$(go version -m "$HPO_GO_TOOLS_BIN/$1" 2>/dev/null |
      awk '$1 == "mod" && !seen { print $3; seen = 1 }') || have=""
  fi
  if [[ $have != "${2##*@}" ]]; then
    echo "installing $2" >&2
    GOBIN=$HPO_GO_TOOLS_BIN go install "$2" >&2
  fi
}
go_tool protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
go_tool grpcurl "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
# k8s/: kustomize and kubeconform, and Kubernetes' schemas (k8s/tools.env).
# shellcheck source=../k8s/tools.env
source "$ROOT/k8s/tools.env"
go_tool kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
go_tool kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
PYTHON=$PYTHON bash "$ROOT/k8s/schemas.sh"
for module in client_stubs/go examples/go-benchmark-worker bench/load; do
  (cd "$ROOT/$module" && go mod download) >&2
done
