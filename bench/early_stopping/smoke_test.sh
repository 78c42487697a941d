#!/usr/bin/env bash
# CI smoke test of the early-stopping benchmark: one seed, 6 trials, one real
# and one synthetic problem, hpo over gRPC through the real server with no
# stopping and with the median rule (and Optuna's MedianPruner when Optuna is
# installed); checks the runs and the tables. Skips, passing, when Python
# lacks what the benchmark needs (scripts/install-deps.sh installs it).
#   bazel test //bench:early_stopping_smoke_test
#   bench/early_stopping/smoke_test.sh <hpo-server> bench/early_stopping/run.py
# $HPO_BENCH_PYTHON: the Python to use (default python3).
set -euo pipefail
server="$1"
run="$2"
py="${HPO_BENCH_PYTHON:-python3}"
export PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=1

if ! missing="$("$py" -c '
import importlib.util as u
print(" ".join(m for m in ["grpc", "grpc_tools", "google.protobuf", "numpy", "sklearn",
                           "scipy"] if u.find_spec(m.split(".")[0]) is None))')"; then
  missing="python"
fi
if [[ -n $missing ]]; then
  echo "early_stopping smoke test: skipped (missing: $missing)"
  exit 0
fi
arms="hpo/none,hpo/median"
if "$py" -c 'import optuna' 2>/dev/null; then arms="$arms,optuna/median"; fi

out="${TEST_TMPDIR:-$(mktemp -d)}/early_stopping"
"$py" "$run" --server="$server" --problems=sgd_digits,exp_crossing \
  --arms="$arms" --seeds=0 --trials=6 --jobs=1 --out="$out" --quiet

"$py" - "$out" "$arms" <<'PY'
import json, os, sys
out, arms = sys.argv[1], sys.argv[2].split(",")
rows = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl"))]
assert {(r["problem"], r["arm"]) for r in rows} == {
    (p, a) for p in ("sgd_digits", "exp_crossing") for a in arms}, rows
epochs = json.load(open(os.path.join(out, "results.json")))["config"]["epochs"]
for r in rows:
    assert r["trials"] == 6 and len(r["trial_steps"]) == 6, r
    assert all(1 <= s <= epochs for s in r["trial_steps"]), r
    assert r["steps"] == sum(r["trial_steps"]), r
    assert r["best"] is not None and 0 <= r["best"] <= 1, r
    # Every trial cut short was pruned (one may also be pruned at its last step).
    assert r["pruned"] >= sum(s < epochs for s in r["trial_steps"]), r
    if r["arm"] == "hpo/none":
        assert r["steps"] == 6 * epochs and r["pruned"] == 0, r
    else:  # median: no stopping before 5 trials have completed
        assert r["trial_steps"][:5] == [epochs] * 5, r
md = open(os.path.join(out, "results.md")).read()
for name in ("## sgd_digits", "## exp_crossing", "| hpo/median |"):
    assert name in md, name
print(f"early_stopping smoke test: ok ({len(rows)} runs: {', '.join(arms)})")
PY
