#!/usr/bin/env bash
# CI smoke test of the decision-time benchmark: 20 completed trials and 2
# reporting ones, every rule timed in-process; with Optuna installed, its
# pruners too, and the rules hpo shares with Optuna must judge the same reports
# worth a stop. Skips, passing, without numpy.
#   bazel test //bench:pruner_speed_smoke_test
# $HPO_BENCH_PYTHON: the Python to use (default python3).
set -euo pipefail
bin="$1"
script="$2"
py="${HPO_BENCH_PYTHON:-python3}"
export PYTHONDONTWRITEBYTECODE=1 OMP_NUM_THREADS=1
if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "pruner_speed smoke test: skipped (missing: numpy)"
  exit 0
fi
out="${TEST_TMPDIR:-$(mktemp -d)}/pruner_speed.json"
"$py" "$script" --pruner_speed_bin="$bin" --trials=20 --runners=2 --out="$out"
"$py" - "$out" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert {r["rule"] for r in rows} == {"median", "percentile", "successive_halving",
                                     "hyperband", "curve_fitting"}, rows
for r in rows:
    h = r["hpo"]
    assert h["trials"] == 20 and h["reports"] == 60, r
    assert 0 < h["us_median"] <= h["us_p90"], r
    assert 0 <= h["stop_decisions"] <= 60, r
    if r["optuna"] is not None and r["rule"] != "hyperband":
        assert r["optuna"]["stop_decisions"] == h["stop_decisions"], r
print("pruner_speed smoke test: ok (%d rules, Optuna %s)" % (
    len(rows), "compared" if any(r["optuna"] for r in rows) else "not installed"))
PY
