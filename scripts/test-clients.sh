#!/usr/bin/env bash
# Tests the clients against the real server binary: the generated stubs are up to date,
# the Python client (pytest, with a real Ray Tune run, real Optuna studies, the README's
# grpcurl commands and the security tests: TLS, tokens, hpoctl), the Go client (go test),
# and the examples as smoke tests. Installs nothing (scripts/install-deps.sh does); builds
# the server and hpoctl if needed. Ends with the line
#   clients: N passed, N failed
# and exits non-zero if anything failed or nothing ran.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=../client_stubs/tools.env
source client_stubs/tools.env
export HPO_GO_TOOLS_BIN
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d -t hpo-clients-XXXXXX)
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
failed=0
failures=()
count() { # name passed failed
  passed=$((passed + $2))
  failed=$((failed + $3))
  if (($3 > 0)); then failures+=("$1 ($3)"); fi
  echo "== $1: $2 passed, $3 failed"
}
finish() {
  if ((${#failures[@]})); then echo "failed: ${failures[*]}"; fi
  echo "clients: $passed passed, $failed failed"
  if ((failed > 0 || passed == 0)); then exit 1; fi
  exit 0
}

# --- the server (and hpoctl, which the security tests run) ---------------------------------
if [[ -z ${HPO_SERVER_BIN:-} ]]; then
  echo "== bazel build //server:hpo-server //cli:hpoctl"
  if ! bazel build //server:hpo-server //cli:hpoctl; then
    count "build hpo-server" 0 1
    finish
  fi
  HPO_SERVER_BIN=$ROOT/bazel-bin/server/hpo-server
fi
export HPO_SERVER_BIN
HPOCTL_BIN=${HPOCTL_BIN:-$ROOT/bazel-bin/cli/hpoctl}
export HPOCTL_BIN
if [[ ! -x $HPO_SERVER_BIN ]]; then
  echo "no server binary at $HPO_SERVER_BIN"
  count "hpo-server binary" 0 1
  finish
fi
# Newer servers also serve HTTP, on 8080 unless told otherwise: take a free port instead.
HTTP_FLAG=()
server_help=$("$HPO_SERVER_BIN" --helpfull 2>&1)
if [[ $server_help == *--http_port* ]]; then HTTP_FLAG=(--http_port=0); fi

# start_server NAME: a server on a free port with a database of its own; sets PORT, and
# HTTP_URL when it serves HTTP.
start_server() {
  local dir=$WORK/server-$1
  mkdir -p "$dir"
  "$HPO_SERVER_BIN" --host=127.0.0.1 --grpc_port=0 "${HTTP_FLAG[@]}" \
    --port_file="$dir/port" --db="$dir/hpo.db" >"$dir/log" 2>&1 &
  SERVER_PIDS+=($!)
  local pid=$!
  for _ in $(seq 1 500); do
    if [[ -s $dir/port ]]; then
      PORT=$(cat "$dir/port")
      HTTP_URL=$(sed -n 's|^Access REST Service at \(http://[^ ]*\)$|\1|p' "$dir/log" | head -1)
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  echo "hpo-server did not start:"
  cat "$dir/log"
  return 1
}
stop_server() { # stops the last server started
  local pid=${SERVER_PIDS[-1]}
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset 'SERVER_PIDS[-1]'
}

# --- generated stubs -----------------------------------------------------------------------
echo "== scripts/generate-stubs.sh --check"
if scripts/generate-stubs.sh --check; then count "stubs up to date" 1 0; else count "stubs up to date" 0 1; fi

# --- Python: pytest (client, Ray Tune, Optuna, grpcurl, security, packaging) ----------------
echo "== pytest client_stubs/python/tests"
"$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$WORK/pytest.xml" \
  client_stubs/python/tests
read -r py_passed py_failed < <("$PYTHON" - "$WORK/pytest.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
passed = failed = 0
try:
    root = ET.parse(sys.argv[1]).getroot()
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is None:
            passed += 1
except (OSError, ET.ParseError):
    pass
# pytest that ran nothing (or crashed before writing its report) is a failure.
print(passed, failed if passed + failed else 1)
PY
)
count "pytest" "$py_passed" "$py_failed"

# --- Go: go test ---------------------------------------------------------------------------
echo "== go test ./... (client_stubs/go)"
(cd client_stubs/go && go test -count=1 -json ./...) >"$WORK/go-test.json" 2>"$WORK/go-test.err"
read -r go_passed go_failed < <("$PYTHON" - "$WORK/go-test.json" "$WORK/go-test.err" <<'PY'
import json, sys
passed = failed = 0
failed_packages = set()
packages_with_failed_tests = set()
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    action, test = e.get("Action"), e.get("Test")
    if action == "output" and test is None and e.get("Output", "").startswith(("ok", "FAIL", "---")):
        print(e["Output"], end="", file=sys.stderr)
    if test:
        if action == "pass":
            passed += 1
        elif action == "fail":
            failed += 1
            packages_with_failed_tests.add(e.get("Package"))
            print(f"--- FAIL: {e.get('Package')} {test}", file=sys.stderr)
    elif action == "fail":
        failed_packages.add(e.get("Package"))
# A package that failed without a failing test (it did not build, TestMain failed).
failed += len(failed_packages - packages_with_failed_tests)
sys.stderr.write(open(sys.argv[2]).read())
print(passed, failed if passed + failed else 1)
PY
)
count "go test" "$go_passed" "$go_failed"

# --- examples ------------------------------------------------------------------------------
example() { # name, then the command; passes if it exits 0 and prints what $EXPECT matches
  local name=$1
  shift
  echo "== example: $name"
  if start_server "$name"; then
    local out=$WORK/example-$name.log
    timeout 600 env HPO_SERVER="127.0.0.1:$PORT" HPO_URL="$HTTP_URL" "$@" >"$out" 2>&1
    local rc=$?
    cat "$out"
    stop_server
    if ((rc == 0)) && grep -Eq "$EXPECT" "$out"; then
      count "example $name" 1 0
      return
    fi
    echo "example $name: exit $rc, or no line matching /$EXPECT/"
  fi
  count "example $name" 0 1
}

EXPECT='is COMPLETED \(all max_trials \(12\) trials have finished\).*12 completed, 0 failed'
example katib-iris "$PYTHON" examples/katib-iris/hpo_iris.py --name iris
EXPECT='is COMPLETED.*completed, 0 failed'
example katib-iris-yaml "$PYTHON" examples/katib-iris/hpo_iris.py --name iris-yaml --from-katib-yaml
EXPECT='^ran 8 trials; best: trial [0-9]+ response_time='
example go-benchmark-worker bash -c 'cd examples/go-benchmark-worker && go run -buildvcs=false . -server "$HPO_SERVER"'
if ((${#HTTP_FLAG[@]})); then
  EXPECT='^ran 10 trials$'
  example rest-shell sh examples/rest-shell/run.sh
else
  echo "== example rest-shell: not run: this hpo-server serves no HTTP (no --http_port)"
fi

# --- the load driver: a few seconds of every measurement, its own server -------------------
echo "== bench/load -smoke"
if (cd bench/load && go run -buildvcs=false . -smoke -server "$HPO_SERVER_BIN"); then
  count "load smoke" 1 0
else
  count "load smoke" 0 1
fi

finish
