#!/usr/bin/env python3
"""Runs hpo's samplers through the REAL server over gRPC on problems whose
objective lives in Python (the tabular and live ones; synthetic ones too, for
a cross-check against bench:run_hpo), and writes traces in the shared format.

  bazel build //server:hpo-server
  python bench/run_hpo_grpc.py --server=$(bazel info bazel-bin)/server/hpo-server \\
      --problems=tabular,live --seeds=0-9 --budgets=50,100,200 --out_dir=bench/results/traces

One server (fresh database in a temporary directory) serves every run; each
run is an experiment with the run's seed, max_trials = budget and
parallel_trials = 1, worked by one worker: GetTrialConfig, evaluate,
ReportResult. Time per suggestion is the GetTrialConfig round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc_driver  # noqa: E402
from problems import auto_grid_points  # noqa: E402
from run_peers import parse_problems, parse_seeds  # noqa: E402
from traces import make_trace, trace_path  # noqa: E402


def parse_settings(s: str) -> dict:
    out = {}
    for item in s.split(";"):
        item = item.strip()
        if not item:
            continue
        sampler, rest = item.split(":", 1)
        key, value = rest.split("=", 1)
        out.setdefault(sampler, {})[key] = value
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samplers", default="all",
                    help="hpo algorithm names, or all (every one the server registers)")
    ap.add_argument("--problems", default="tabular,live")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--budgets", default="50")
    ap.add_argument("--settings", default="", help="sampler:key=value;... as in run_hpo")
    ap.add_argument("--server", default=str(grpc_driver.default_server_binary()))
    ap.add_argument("--out_dir", required=True)
    ap.add_argument("--keep_params", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    os.makedirs(args.out_dir, exist_ok=True)
    seeds = parse_seeds(args.seeds)
    budgets = sorted({int(b) for b in args.budgets.split(",") if b.strip()})
    settings = parse_settings(args.settings)
    failures = 0
    with grpc_driver.Server(args.server) as server:
        known = grpc_driver.registered_samplers(server)
        if args.samplers == "all":
            samplers = known
        else:
            samplers = []
            for s in (x.strip() for x in args.samplers.split(",")):
                if s and s not in known:
                    print(f"run_hpo_grpc: sampler {s!r} is not registered; skipped "
                          f"(registered: {', '.join(known)})", file=sys.stderr)
                elif s:
                    samplers.append(s)
        for problem in parse_problems(args.problems):
            for sampler in samplers:
                method = f"hpo/{sampler}"
                base = settings.get(sampler, {})
                auto_grid = sampler == "grid" and "grid_points" not in base
                to_run = budgets if auto_grid else [budgets[-1]]
                start = time.time()
                with open(trace_path(args.out_dir, problem.name, method), "w") as out:
                    for seed in seeds:
                        for budget in to_run:
                            run_settings = dict(base)
                            result = None
                            run_start = time.perf_counter()
                            if auto_grid:
                                k = auto_grid_points(problem.parameters, budget)
                                if k is None:
                                    result = ("unsupported",
                                              "not applicable: even a grid of 2 points per "
                                              f"continuous parameter has more than {budget} points",
                                              [], [], [], [])
                                else:
                                    run_settings["grid_points"] = str(k)
                            if result is None:
                                result = grpc_driver.run_over_grpc(
                                    server, problem, sampler, run_settings, seed, budget,
                                    problem.make_objective(seed))
                            status, message, values, trues, seconds, params = result
                            if status == "error":
                                failures += 1
                                print(f"run_hpo_grpc: {problem.name} {method} seed {seed}: "
                                      f"{message}", file=sys.stderr)
                            trace = make_trace(
                                problem=problem.name, method=method, library="hpo",
                                transport="grpc", algorithm=sampler, settings=run_settings,
                                seed=seed, budget=budget, prefix_valid=not auto_grid,
                                status=status, message=message, optimum=problem.optimum,
                                values=values, trues=trues, seconds=seconds,
                                params=params if args.keep_params else None,
                                extra={"wall_seconds": time.perf_counter() - run_start})
                            out.write(json.dumps(trace) + "\n")
                            out.flush()
                if not args.quiet:
                    print(f"run_hpo_grpc: {problem.name} {method}: {len(seeds)} seeds in "
                          f"{time.time() - start:.1f} s", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
