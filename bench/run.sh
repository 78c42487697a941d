#!/usr/bin/env bash
# The benchmark, end to end: build, run hpo's samplers and the peers, analyze.
#
#   bench/run.sh --quick            # smoke: branin (C++) + hpobench_australian (gRPC), 8 trials,
#                                   # 2 seeds, every registered hpo sampler + the random peer (~35 s)
#   bench/run.sh --full             # budgets 50/100/200, 20 seeds (GPs 10; live training 10
#                                   # seeds up to 100 trials), every problem and method, then
#                                   # the speed grid; writes bench/README.md (~7-8 h on 2 cores)
#   bench/run.sh --methods hpo/random,optuna/tpe --problems branin,levy10 --seeds 0-4
#
# Options (after the mode, which sets defaults):
#   --methods LIST    hpo/<name>, optuna/tpe, optuna/tpe-uni, optuna/tpe-mv, optuna/gp, optuna/cmaes,
#                     optuna/random, hyperopt/tpe, or the groups `hpo` (every registered
#                     sampler) and `peers` (every peer). Default: hpo,peers
#   --problems LIST   names, or the groups synthetic, tabular, live, all
#   --seeds S         e.g. 0-19 or 0,3,5          --budgets B   e.g. 50,100,200
#   --live-seeds S / --live-budget N   seeds and budget of the live (training) problems
#   --slow-methods LIST / --slow-seeds S   fewer seeds for the slowest methods
#                     (default list: optuna/gp,hpo/gp; --full gives them seeds 0-9)
#   --out DIR         default bench/results/<mode>   --jobs N   parallel runs (default 2)
#   --readme          write the results table into bench/README.md (--full does)
#   --speed / --no-speed   run bench/speed.py afterwards (--full does)
#   --title TEXT      heading of the results table
#   --help            this text
# The Python environment comes from bench/setup_venv.sh ($HPO_BENCH_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
here=bench

mode=custom
methods="hpo,peers"
problems="synthetic"
seeds="0-9"
budgets="50"
live_seeds=""
live_budget=""
slow_methods="optuna/gp,hpo/gp"
slow_seeds=""
out=""
jobs=2
readme=0
speed=0
title=""

while [ $# -gt 0 ]; do
  case "$1" in
    --quick)
      mode=quick; methods="hpo,optuna/random"; problems="branin,hpobench_australian"; seeds="0,1"
      budgets="8" ;;
    --full)
      mode=full; methods="hpo,peers"; problems="all"; seeds="0-19"; budgets="50,100,200"
      live_seeds="0-9"; live_budget="100"; slow_seeds="0-9"; readme=1; speed=1 ;;
    --methods) methods="$2"; shift ;;
    --problems) problems="$2"; shift ;;
    --seeds) seeds="$2"; shift ;;
    --budgets) budgets="$2"; shift ;;
    --live-seeds) live_seeds="$2"; shift ;;
    --live-budget) live_budget="$2"; shift ;;
    --slow-methods) slow_methods="$2"; shift ;;
    --slow-seeds) slow_seeds="$2"; shift ;;
    --out) out="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    --readme) readme=1 ;;
    --speed) speed=1 ;;
    --no-speed) speed=0 ;;
    --title) title="$2"; shift ;;
    -h|--help) sed -n '2,/^# The Python/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
out="${out:-$here/results/$mode}"
traces="$out/traces"
mkdir -p "$traces"
started=$(date +%s)

# One thread per process: runs in parallel share 2 cores, and timings stay
# comparable between libraries.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

echo "== build" >&2
# The workspace's .bazelrc builds -c opt (timings need it). --symlink_prefix=/
# leaves bazel-bin & co. alone for the people sharing this workspace.
bazel build --symlink_prefix=/ //bench:run_hpo //bench:speed //server:hpo-server >&2
bin="$(bazel info bazel-bin 2>/dev/null)"
case ",$methods," in
  *,peers,*|*optuna/gp*) venv="$("$here/setup_venv.sh" --gp)" ;;
  *) venv="$("$here/setup_venv.sh")" ;;
esac
py="$venv/bin/python"

# Split the method list into hpo samplers and peers.
registered="$("$bin/bench/run_hpo" --list | "$py" -c 'import json,sys; print(",".join(json.load(sys.stdin)["samplers"]))')"
hpo_list=""; peer_list=""
IFS=',' read -ra items <<< "$methods"
for m in "${items[@]}"; do
  case "$m" in
    hpo) hpo_list="$hpo_list,$registered" ;;
    peers) peer_list="$peer_list,optuna/tpe,optuna/tpe-uni,optuna/gp,optuna/cmaes,hyperopt/tpe,optuna/random" ;;
    hpo/*) hpo_list="$hpo_list,${m#hpo/}" ;;
    *) peer_list="$peer_list,$m" ;;
  esac
done
hpo_list="${hpo_list#,}"; peer_list="${peer_list#,}"
echo "== hpo samplers: ${hpo_list:-none} (registered: $registered); peers: ${peer_list:-none}" >&2

# Problems by where they are evaluated: C++ (synthetic) or Python (tabular, live).
names="$("$py" - "$problems" <<'PY'
import sys
sys.path.insert(0, "bench")
from run_peers import parse_problems
ps = parse_problems(sys.argv[1])
print(",".join(p.name for p in ps if p.kind == "synthetic"))
print(",".join(p.name for p in ps if p.kind == "tabular"))
print(",".join(p.name for p in ps if p.kind == "live"))
PY
)"
synthetic="$(sed -n 1p <<< "$names")"
tabular="$(sed -n 2p <<< "$names")"
live="$(sed -n 3p <<< "$names")"

live_seeds="${live_seeds:-$seeds}"
live_budget="${live_budget:-$(tr ',' '\n' <<< "$budgets" | sort -n | tail -1)}"
live_budgets="$(tr ',' '\n' <<< "$budgets" | awk -v m="$live_budget" '$1 <= m' | paste -sd, -)"
live_budgets="${live_budgets:-$live_budget}"
nonlive="$(echo "$synthetic,$tabular" | sed 's/^,//; s/,$//')"

# One task per method (and problem kind), run by a pool of $jobs processes,
# slow methods first. Every task writes its own trace files.
tasks="$out/tasks"
rm -rf "$tasks"; mkdir -p "$tasks" "$out/logs"
n=0
add_task() {  # slow(0/1) name command...
  local slow="$1" name="$2"; shift 2
  n=$((n + 1))
  local file="$tasks/$((1 - slow))-$(printf %03d $n)-${name//\//-}.sh"
  { printf 'set -o pipefail; '; printf '%q ' "$@"
    printf '> %q 2>&1\n' "$out/logs/${name//\//-}.log"; } > "$file"
}
is_slow() { [[ ",$slow_methods," == *",$1,"* ]]; }
seeds_of() { if is_slow "$1" && [ -n "$slow_seeds" ]; then echo "$slow_seeds"; else echo "$seeds"; fi; }
live_seeds_of() { if is_slow "$1" && [ -n "$slow_seeds" ]; then echo "$slow_seeds"; else echo "$live_seeds"; fi; }
slow_flag() { if is_slow "$1"; then echo 1; else echo 0; fi; }

IFS=',' read -ra hs <<< "$hpo_list"
for h in "${hs[@]}"; do
  [ -n "$h" ] || continue
  m="hpo/$h"
  [ -n "$synthetic" ] && add_task "$(slow_flag "$m")" "$m-synthetic" "$bin/bench/run_hpo" \
    --problems="$synthetic" --samplers="$h" --seeds="$(seeds_of "$m")" --budgets="$budgets" \
    --out_dir="$traces"
  [ -n "$tabular" ] && add_task "$(slow_flag "$m")" "$m-tabular" "$py" "$here/run_hpo_grpc.py" \
    --server="$bin/server/hpo-server" --samplers="$h" --problems="$tabular" \
    --seeds="$(seeds_of "$m")" --budgets="$budgets" --out_dir="$traces"
  [ -n "$live" ] && add_task "$(slow_flag "$m")" "$m-live" "$py" "$here/run_hpo_grpc.py" \
    --server="$bin/server/hpo-server" --samplers="$h" --problems="$live" \
    --seeds="$(live_seeds_of "$m")" --budgets="$live_budgets" --out_dir="$traces"
done
IFS=',' read -ra ps <<< "$peer_list"
for m in "${ps[@]}"; do
  [ -n "$m" ] || continue
  [ -n "$nonlive" ] && add_task "$(slow_flag "$m")" "$m-nonlive" "$py" "$here/run_peers.py" \
    --methods="$m" --problems="$nonlive" --seeds="$(seeds_of "$m")" --budgets="$budgets" \
    --out_dir="$traces"
  [ -n "$live" ] && add_task "$(slow_flag "$m")" "$m-live" "$py" "$here/run_peers.py" \
    --methods="$m" --problems="$live" --seeds="$(live_seeds_of "$m")" --budgets="$live_budgets" \
    --out_dir="$traces"
done

status=0
echo "== $n tasks, $jobs at a time (logs in $out/logs)" >&2
if [ "$n" -gt 0 ]; then
  ls "$tasks"/*.sh | sort | xargs -P "$jobs" -n 1 bash -c \
    'if bash "$0"; then echo "   done $(basename "$0" .sh)" >&2; else echo "   FAILED $(basename "$0" .sh)" >&2; exit 1; fi' \
    || status=1
fi

# 3. Speed, alone on the machine.
speed_json=""
if [ "$speed" = 1 ]; then
  echo "== speed" >&2
  speed_json="$out/speed.json"
  "$py" "$here/speed.py" --speed_bin="$bin/bench/speed" --server="$bin/server/hpo-server" \
    --out="$speed_json" || status=1
fi

# 4. Analysis.
echo "== analyze" >&2
args=(--traces="$traces" --out="$out" --budgets="$budgets")
[ -n "$speed_json" ] && args+=(--speed="$speed_json")
[ "$readme" = 1 ] && args+=(--readme="$here/README.md")
if [ -z "$title" ] && [ "$readme" = 1 ]; then
  title="$mode run: budgets $budgets, seeds $seeds ($(date -u +%F), $(nproc)-core $(. /etc/os-release && echo "$PRETTY_NAME"))"
fi
[ -n "$title" ] && args+=(--title="$title")
"$py" "$here/analyze.py" "${args[@]}" > /dev/null || status=1
echo "== done in $(( $(date +%s) - started )) s: $out (results.md, summary.json, *.png)" >&2
exit $status
