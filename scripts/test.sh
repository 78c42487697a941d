#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test, and ends with a line
# "N passed, N failed" counting individual test cases.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1

bazel test //... "$@"
status=$?

# run_clients SERVER: the clients (stubs check, Python, Go, grpcurl, examples)
# against SERVER; scripts/test-clients.sh ends with "clients: N passed, N failed",
# added to CLIENTS_PASSED and CLIENTS_FAILED (no such line counts as a failure).
CLIENTS_PASSED=0
CLIENTS_FAILED=0
run_clients() {
  local log counts passed failed
  log=$(mktemp)
  HPO_SERVER_BIN=$1 bash scripts/test-clients.sh 2>&1 | tee "$log"
  local clients_status=${PIPESTATUS[0]}
  counts=$(sed -nE 's/^clients: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log" | tail -1)
  rm -f "$log"
  read -r passed failed <<<"${counts:-0 1}"
  CLIENTS_PASSED=$((CLIENTS_PASSED + passed))
  CLIENTS_FAILED=$((CLIENTS_FAILED + failed))
  if ((clients_status != 0 && status == 0)); then status=1; fi
}

# Against the server binary `bazel test //...` just built (so no second bazel
# command moves bazel-testlogs).
server_bin=${HPO_SERVER_BIN:-$PWD/bazel-bin/server/hpo-server}
run_clients "$server_bin"

# k8s/: the manifests validated, their pods run from the rendered manifests, and the
# image built and run in its own filesystem; k8s/test.sh ends with
# "k8s: N passed, N failed" (no such line counts as a failure).
k8s_log=$(mktemp)
HPO_SERVER_BIN=$server_bin HPOCTL_BIN=$PWD/bazel-bin/cli/hpoctl bash k8s/test.sh 2>&1 |
  tee "$k8s_log"
k8s_status=${PIPESTATUS[0]}
k8s_counts=$(sed -nE 's/^k8s: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$k8s_log" | tail -1)
rm -f "$k8s_log"
read -r K8S_PASSED K8S_FAILED <<<"${k8s_counts:-0 1}"
if ((k8s_status != 0 && status == 0)); then status=1; fi
export K8S_PASSED K8S_FAILED

# The C++ tests again under AddressSanitizer and UBSan (.bazelrc's asan config,
# whose outputs are kept apart, so this rebuilds nothing of the above): every
# target but bench's, whose smoke tests only drive the same code from Python.
bazel test --config=asan //core/... //samplers/... //pruners/... //storage/... \
  //server/... //proto/... //cli/... //tests/...
asan_status=$?
if ((asan_status != 0 && status == 0)); then status=1; fi
ASAN_TESTLOGS=$(bazel info --config=asan bazel-testlogs 2>/dev/null)
export ASAN_TESTLOGS ASAN_STATUS=$asan_status

# And the clients once more, against the sanitizer build of the server, which
# the tests above built: the Python, Ray Tune, Go and shell workers reach
# server paths of their own.
asan_server="$(bazel info --config=asan bazel-bin 2>/dev/null)/server/hpo-server"
if [[ -x $asan_server ]]; then
  run_clients "$asan_server"
else
  echo "no sanitizer build of the server at $asan_server"
  CLIENTS_FAILED=$((CLIENTS_FAILED + 1))
  if ((status == 0)); then status=1; fi
fi
export CLIENTS_PASSED CLIENTS_FAILED

# Clang's thread-safety analysis of the lock annotations (ABSL_GUARDED_BY and
# friends), which GCC ignores: everything that takes a lock, built with Clang and
# -Werror=thread-safety, in an output base of its own (kept between runs on one
# machine, never needed) and without touching the bazel-* links the count below
# reads. One case: passed if it builds.
tsa_base=${XDG_CACHE_HOME:-$HOME/.cache}/hpo-bazel-clang-tsa
if bazel --output_base="$tsa_base" build --repo_env=CC=clang \
  --copt=-Wthread-safety --copt=-Werror=thread-safety --symlink_prefix=/ \
  //server/... //storage/... //cli/...; then
  echo "== clang -Wthread-safety: 1 passed, 0 failed"
  TSA_PASSED=1 TSA_FAILED=0
else
  echo "== clang -Wthread-safety: 0 passed, 1 failed"
  TSA_PASSED=0 TSA_FAILED=1
  if ((status == 0)); then status=1; fi
fi
bazel --output_base="$tsa_base" shutdown
export TSA_PASSED TSA_FAILED

# Count test cases from the JUnit XML each test target leaves in bazel-testlogs
# (and, for the sanitizer run, in its own testlogs: each case counts once per run).
python3 - <<'PY'
import glob, os, xml.etree.ElementTree as ET
passed = failed = 0
paths = glob.glob("bazel-testlogs/**/test.xml", recursive=True)
asan = os.environ.get("ASAN_TESTLOGS", "")
asan_paths = glob.glob(os.path.join(asan, "**/test.xml"), recursive=True) if asan else []
for path in paths + asan_paths:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        failed += 1
        continue
    cases = list(root.iter("testcase"))
    if not cases:
        failed += 1  # a target that ran no test case at all counts as a failure
        continue
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("result", "completed") == "completed" and case.get("status", "run") == "run":
            passed += 1
# A sanitizer run that failed without a failing case (a build error) still fails.
if os.environ.get("ASAN_STATUS", "0") != "0" and failed == 0:
    failed += 1
for kind in ("CLIENTS", "K8S", "TSA"):
    passed += int(os.environ.get(f"{kind}_PASSED", 0))
    failed += int(os.environ.get(f"{kind}_FAILED", 0))
print(f"{passed} passed, {failed} failed")
PY
exit $status
