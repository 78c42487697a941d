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

# bounds.py's oracles: what each may know of a pow_overfit curve, and a short
# run of all five beside no stopping (Optuna's samplers choose the trials).
"$py" - "$(dirname "$run")" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import bounds, curves
curve = curves.find("pow_overfit").start(0, {"lr": 0.1, "capacity": 1.0, "reg": 1e-4})
assert curve.onset == 5 and curve.f(30) > curve.decay(30) + 0.05, curve.onset
noise_free = [curve.f(t) for t in range(1, 31)]
z = 1.645
for arm in bounds.ORACLES:
    assert bounds.forecast(arm, curve, noise_free[:5], z) == (
        curve.f(30) if arm == "oracle/clairvoyant" else curve.decay(30)), arm
assert bounds.forecast("oracle/turn_seen", curve, noise_free[:6], z) == curve.f(30)
# The steepest turn (0.004 a step, noise 0.015) is tested significant 5 steps
# after its onset even without noise; the decay alone never is.
assert bounds.forecast("oracle/turn_tested", curve, noise_free[:9], z) == curve.decay(30)
assert bounds.forecast("oracle/turn_tested", curve, noise_free[:10], z) == curve.f(30)
decay_only = [curve.decay(t) for t in range(1, 31)]
assert bounds.forecast("oracle/turn_tested", curve, decay_only, z) == curve.decay(30)
assert bounds.forecast("oracle/turn_unseen", curve, noise_free, z) == curve.decay(30)
# Until the turn is seen, neighbours expect the turns of completed trials near
# in the parameters; a far one weighs nothing.
point = bounds.unit_point(curves.find("pow_overfit"), {"lr": 0.1, "capacity": 1.0, "reg": 1e-4})
assert all(abs(a - b) < 1e-12 for a, b in zip(point, [2 / 3, 1, 0])), point
near, far = ([0.6, 1.0, 0.0], 0.04), ([0.0, 0.0, 1.0], 0.5)
got = bounds.forecast("oracle/neighbours", curve, noise_free[:9], z, [near, far], point)
assert abs(got - (curve.decay(30) + 0.04)) < 1e-9, got
assert bounds.forecast("oracle/neighbours", curve, noise_free[:10], z, [near], point) == curve.f(30)
print("bounds: forecasts ok")
PY
if "$py" -c 'import optuna' 2>/dev/null; then
  table="$("$py" "$(dirname "$run")/bounds.py" --problems=pow_overfit --seeds=0 --trials=8)"
  echo "$table"
  [[ $(grep -c '^| oracle/.* | pow_overfit | 0\.[0-9][0-9] |' <<<"$table") == 5 ]]
fi
