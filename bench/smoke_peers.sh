#!/usr/bin/env bash
# The Python side of the benchmark, quickly, for CI (bench:smoke_test covers
# the C++ runner without Python):
#   1. bench/problems.py agrees with the C++ problems (shared test vectors);
#   2. every peer runs on a continuous, a mixed/conditional and a tabular
#      problem (5 trials, 1 seed) and writes well-formed traces;
#   3. hpo over gRPC through the real server: a tabular and a live problem,
#      and the synthetic ones, whose trials must equal bench:run_hpo's
#      in-process ones for the same seed.
# Optuna's GPSampler runs only if PyTorch is in the environment
# (bench/setup_venv.sh --gp). Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

venv="$(bench/setup_venv.sh)"
py="$venv/bin/python"
bazel build --symlink_prefix=/ //bench:run_hpo //server:hpo-server >&2
bin="$(bazel info bazel-bin 2>/dev/null)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1

peers="optuna/tpe,optuna/tpe-uni,optuna/tpe-mv,optuna/cmaes,hyperopt/tpe,optuna/random"
if "$py" -c 'import torch' 2>/dev/null; then
  peers="$peers,optuna/gp"
else
  echo "smoke_peers: optuna/gp skipped (no PyTorch; bench/setup_venv.sh --gp installs it)" >&2
fi

passed=0; failed=0
step() {  # name command...
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then
    passed=$((passed + 1)); echo "ok   $name" >&2
  else
    failed=$((failed + 1)); echo "FAIL $name" >&2; echo "$out" | tail -20 >&2
  fi
}

step "problems.py matches the C++ problems" "$py" bench/check_vectors.py
step "peers run" "$py" bench/run_peers.py --methods="$peers" \
  --problems=branin,cond_mix,ackley10_int5,hpobench_australian --seeds=0 --budgets=5 \
  --out_dir="$tmp/peers" --quiet
step "peer traces are well formed" "$py" bench/check_traces.py "$tmp/peers" \
  --expect_methods="$peers" --expect_problems=branin,cond_mix,ackley10_int5,hpobench_australian
step "hpo over gRPC runs" "$py" bench/run_hpo_grpc.py --server="$bin/server/hpo-server" \
  --problems=branin,cond_mix,hpobench_australian,hgb_breast_cancer --seeds=0,1 --budgets=5 \
  --out_dir="$tmp/grpc" --quiet
step "gRPC traces are well formed" "$py" bench/check_traces.py "$tmp/grpc" \
  --expect_methods=hpo/random --expect_problems=branin,cond_mix,hpobench_australian,hgb_breast_cancer
step "hpo in-process runs" "$bin/bench/run_hpo" --problems=branin,cond_mix --seeds=0,1 \
  --budgets=5 --out_dir="$tmp/inproc" --quiet
step "in-process and gRPC give the same trials" "$py" bench/check_traces.py "$tmp/inproc" \
  --same_as="$tmp/grpc"
step "analysis runs" "$py" bench/analyze.py --traces="$tmp/peers" --traces="$tmp/grpc" \
  --out="$tmp/analysis" --budgets=5

echo "smoke_peers: $passed passed, $failed failed"
[ "$failed" = 0 ]
