#!/usr/bin/env bash
# Creates (or updates) the benchmark's Python environment and prints its path.
#   bench/setup_venv.sh          requirements.txt: Optuna, hyperopt, scikit-learn, ...
#   bench/setup_venv.sh --gp     requirements-gp.txt: also PyTorch, for Optuna's GPSampler
# It lives outside the workspace ($HPO_BENCH_VENV, default
# ~/.cache/hpo-bench/venv) so that Bazel never walks into it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
req="$here/requirements.txt"
[ "${1:-}" = "--gp" ] && req="$here/requirements-gp.txt"
venv="${HPO_BENCH_VENV:-$HOME/.cache/hpo-bench/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
stamp="$venv/.bench-$(basename "$req" .txt).sha256"
want="$(cat "$here/requirements.txt" "$req" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install -q --upgrade pip >&2
  "$venv/bin/pip" install -q -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
