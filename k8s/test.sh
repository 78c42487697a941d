#!/usr/bin/env bash
# Checks k8s/: each overlay of README.md's quickstarts renders (kustomize) and is valid
# against Kubernetes' schemas (kubeconform -strict); broken manifests are refused; the
# wiring test runs each pattern's pods from the rendered manifests (test/wiring_test.py);
# the image builds and serves from its own filesystem (image/test.sh).
# Prints "ok - ..." / "not ok - ..." and ends with "k8s: N passed, N failed".
#
#   k8s/test.sh [--no-image]      HPO_SERVER_BIN, HPOCTL_BIN: the binaries (bazel-bin's)
set -uo pipefail
cd "$(dirname "$0")/.."
source k8s/tools.env
source client_stubs/tools.env
export PATH="$HPO_GO_TOOLS_BIN:$PATH"
export HPO_SERVER_BIN=${HPO_SERVER_BIN:-$PWD/bazel-bin/server/hpo-server}
export HPOCTL_BIN=${HPOCTL_BIN:-$PWD/bazel-bin/cli/hpoctl}
image=1
[[ ${1:-} == --no-image ]] && image=0

passed=0
failed=0
check() { # description command...
  local description=$1
  shift
  local out
  if out=$("$@" 2>&1); then
    echo "ok - $description"
    passed=$((passed + 1))
  else
    echo "not ok - $description"
    echo "$out" | sed 's/^/    /' | tail -40
    failed=$((failed + 1))
  fi
}

bash k8s/schemas.sh || { echo "not ok - fetching Kubernetes' schemas"; exit 1; }
schemas="$HPO_K8S_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
validate() { # reads manifests on stdin
  kubeconform -strict -summary -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$schemas" -
}
render_and_validate() { # overlay
  local rendered
  rendered=$(kustomize build "$1") || return 1
  validate <<<"$rendered"
}

# The overlays are the ones README.md's quickstarts apply, and every overlay has one.
mapfile -t overlays < <(sed -nE 's/^kubectl apply -k (k8s\/[^ ]+).*/\1/p' k8s/README.md | sort -u)
documented() {
  local d found
  for d in k8s/overlays/*/; do
    found=0
    for o in "${overlays[@]}"; do [[ $o == "${d%/}" ]] && found=1; done
    ((found)) || { echo "${d%/} has no quickstart in k8s/README.md"; return 1; }
  done
  ((${#overlays[@]} > 0))
}
check "every overlay has a quickstart in k8s/README.md (${overlays[*]})" documented
for o in "${overlays[@]}"; do
  check "$o renders and is valid for Kubernetes $KUBERNETES_VERSION" render_and_validate "$o"
done
# The secure overlays' Secrets are made by hand (or cert-manager), not by kustomize; their
# example, with placeholders, is valid too.
validate_file() { validate <"$1"; }
check "k8s/overlays/secure/secrets.example.yaml is valid for Kubernetes $KUBERNETES_VERSION" \
  validate_file k8s/overlays/secure/secrets.example.yaml

# Katib's katib-config entries (not applied: merged into Katib's own ConfigMap) run the
# container k8s/katib's Deployment runs, for every algorithm Katib names.
katib_config_matches() {
  kustomize build k8s/katib | python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
(dep,) = [d for d in docs if d["kind"] == "Deployment"]
(c,) = dep["spec"]["template"]["spec"]["containers"]
cfg = yaml.safe_load(open("k8s/katib/katib-config.yaml"))
assert cfg["kind"] == "KatibConfig", cfg["kind"]
args = [a for a in c["args"] if not a.startswith("--db=")]
names = set()
for s in cfg["runtime"]["suggestions"]:
    assert s["image"] == c["image"], (s["image"], c["image"])
    assert s["args"] == args, (s["algorithmName"], s["args"], args)
    names.add(s["algorithmName"])
katib = {"random", "grid", "tpe", "multivariate-tpe", "bayesianoptimization", "cmaes",
         "sobol", "hyperband"}
assert katib <= names, katib - names
(es,) = cfg["runtime"]["earlyStoppings"]
assert es["algorithmName"] == "medianstop" and es["image"] == c["image"]
assert es["args"] == [a.replace("6789", "6788") for a in args], es["args"]
probe = c["readinessProbe"]["grpc"]
assert probe == {"port": 6789, "service": "manager.v1beta1.Suggestion"}, probe
assert c["ports"] == [{"name": "api", "containerPort": 6789}], c["ports"]
'
}
check "k8s/katib/katib-config.yaml runs k8s/katib's container for Katib's algorithms" \
  katib_config_matches

# The validator refuses what a cluster would: a port given as a string, a misspelled
# field, a required field left out.
refused() { # sed-expression
  local broken
  broken=$(kustomize build k8s/overlays/sidecar | sed -E "$1")
  [[ $broken != "$(kustomize build k8s/overlays/sidecar)" ]] || { echo "sed changed nothing"; return 1; }
  ! validate <<<"$broken"
}
check "a containerPort given as a string is refused" refused 's/containerPort: 50051/containerPort: "50051"/'
check "a misspelled field is refused" refused 's/readOnlyRootFilesystem:/readOnlyRootFileSystem:/'
check "a port without its required containerPort is refused" refused 's/containerPort: 8080/hostPort: 8080/'

# The wiring test, in a network namespace of its own: the manifests' fixed ports are
# free there, and /etc/hosts names each Service (all on 127.0.0.1, like pods that share
# one node's loopback).
hosts=$(mktemp)
services=$(for o in "${overlays[@]}"; do kustomize build "$o"; done |
  python3 -c '
import sys, yaml
for d in yaml.safe_load_all(sys.stdin):
    if d and d["kind"] == "Service":
        n, ns = d["metadata"]["name"], d["metadata"].get("namespace", "default")
        print(n, f"{n}.{ns}", f"{n}.{ns}.svc", f"{n}.{ns}.svc.cluster.local", end=" ")')
printf '127.0.0.1 localhost %s\n::1 localhost\n' "$services" >"$hosts"
junit=$(mktemp)
HPO_KUSTOMIZE=$(command -v kustomize) unshare -r -n -m bash -c '
  ip link set lo up && mount --bind "$1" /etc/hosts &&
  exec python3 -m pytest -p no:cacheprovider -v --junitxml="$2" k8s/test/wiring_test.py' \
  _ "$hosts" "$junit"
read -r wiring_passed wiring_failed < <(python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
except (ET.ParseError, FileNotFoundError):
    cases = []
bad = sum(c.find("failure") is not None or c.find("error") is not None for c in cases)
ok = sum(c.find("skipped") is None for c in cases) - bad
print(ok, bad if cases else 1)
PY
)
rm -f "$hosts" "$junit"
passed=$((passed + wiring_passed))
failed=$((failed + wiring_failed))

if ((image)); then
  log=$(mktemp)
  bash k8s/image/test.sh 2>&1 | tee "$log"
  counts=$(sed -nE 's/^image: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -1)
  rm -f "$log"
  read -r image_passed image_failed <<<"${counts:-0 1}"
  passed=$((passed + image_passed))
  failed=$((failed + image_failed))
fi

echo "k8s: $passed passed, $failed failed"
((failed == 0))
