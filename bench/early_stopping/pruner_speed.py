#!/usr/bin/env python3
"""Time per early-stopping decision: hpo's rules in-process (the
bench:pruner_speed binary) against Optuna's matching pruners (in-memory
storage), on the same histories.

  bazel build --symlink_prefix=/ //bench:pruner_speed
  python bench/early_stopping/pruner_speed.py \\
      --pruner_speed_bin=$(bazel info bazel-bin)/bench/pruner_speed \\
      --out=bench/early_stopping/results/pruner_speed.json

A history is N completed trials of --steps steps, each a noisy exponential
learning curve a + b exp(-r t) + N(0, 0.01^2), and --runners further curves.
Each runner becomes the running trial, reports its values one step at a time,
and each report is judged (a stop is not obeyed: the decision is what is
timed); it then leaves, so every runner is judged against the same N.
  - hpo: Pruner::ShouldStop, the rule alone (the server adds the storage
    write and the RPC around it, as Optuna adds its storage);
  - Optuna: trial.report then trial.should_prune(), timing should_prune (the
    pruner's prune() with its reads of the in-memory storage). Completed
    trials are given with create_trial for the median and percentile rules;
    for successive halving and Hyperband, whose pruners record rung values as
    trials report, each completed trial is run through the study (ask, report
    and should_prune at every step, tell), as a real study would have run it;
    runners are told failed afterwards.
Rules and settings are bench/early_stopping's arms (run.py). Reported per
rule and N: the median and 90th percentile of the per-report times, and the
ratio of medians; and how many reports each judged worth a stop (on the same
trials, the same count for the rules hpo shares with Optuna, Hyperband's
brackets aside).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

PAIRS = {"median": "median", "percentile": "percentile",
         "successive_halving": "successive_halving", "hyperband": "hyperband",
         "curve_fitting": None}


def curves(n, steps, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(1, steps + 1)
    a = rng.uniform(0.1, 0.5, n)
    b = rng.uniform(0.3, 0.8, n)
    r = np.exp(rng.uniform(np.log(0.05), np.log(1.0), n))
    y = a[:, None] + b[:, None] * np.exp(-r[:, None] * t) + rng.normal(0, 0.01, (n, steps))
    return [[float(v) for v in row] for row in y]


def optuna_pruner(rule, steps):
    import optuna.pruners as p
    return {
        "median": lambda: p.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
        "percentile": lambda: p.PercentilePruner(25, n_startup_trials=5, n_warmup_steps=5),
        "successive_halving": p.SuccessiveHalvingPruner,
        "hyperband": lambda: p.HyperbandPruner(min_resource=1, max_resource=steps,
                                               reduction_factor=3),
    }[rule]()


def optuna_times(rule, completed, running):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps = len(completed[0])
    study = optuna.create_study(direction="minimize", pruner=optuna_pruner(rule, steps),
                                sampler=optuna.samplers.RandomSampler(seed=0),
                                study_name=f"speed-{rule}-{len(completed)}")
    if rule in ("median", "percentile"):
        study.add_trials([
            optuna.trial.create_trial(
                value=values[-1], params={}, distributions={},
                intermediate_values={s + 1: v for s, v in enumerate(values)})
            for values in completed])
    else:
        for values in completed:
            trial = study.ask()
            for s, v in enumerate(values):
                trial.report(v, s + 1)
                trial.should_prune()
            study.tell(trial, values[-1])
    times = []
    stops = 0
    for values in running:
        trial = study.ask()
        for s, v in enumerate(values):
            trial.report(v, s + 1)
            start = time.perf_counter()
            stops += bool(trial.should_prune())
            times.append((time.perf_counter() - start) * 1e6)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return times, stops


def quantile(xs, q):
    xs = sorted(xs)
    return xs[int(q * (len(xs) - 1))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pruner_speed_bin", required=True)
    ap.add_argument("--trials", default="100,1000")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--runners", type=int, default=20)
    ap.add_argument("--rules", default=",".join(PAIRS))
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    try:
        import optuna
    except ImportError:  # hpo's side alone
        optuna = None
    rows = []
    for n in [int(x) for x in args.trials.split(",")]:
        completed = curves(n, args.steps, seed=n)
        running = curves(args.runners, args.steps, seed=n + 1)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            for kind, group in (("c", completed), ("r", running)):
                for values in group:
                    f.write(kind + " " + " ".join(repr(v) for v in values) + "\n")
            path = f.name
        try:
            out = subprocess.run([args.pruner_speed_bin, f"--history={path}",
                                  f"--rules={args.rules}"],
                                 check=True, capture_output=True, text=True).stdout
        finally:
            os.unlink(path)
        for line in out.splitlines():
            hpo = json.loads(line)
            rule = hpo["rule"]
            row = {"rule": rule, "trials": n, "steps": args.steps,
                   "reports": hpo.get("reports"), "hpo": hpo, "optuna": None,
                   "ratio": None}
            if optuna is not None and PAIRS.get(rule) and "us_median" in hpo:
                times, stops = optuna_times(PAIRS[rule], completed, running)
                row["optuna"] = {"us_median": statistics.median(times),
                                 "us_p90": quantile(times, 0.9), "stop_decisions": stops,
                                 "version": optuna.__version__}
                row["ratio"] = row["optuna"]["us_median"] / hpo["us_median"]
            rows.append(row)
            o = row["optuna"]
            print(f"{rule:>19} N={n:<5} hpo {hpo.get('us_median', float('nan')):9.2f} us "
                  f"(p90 {hpo.get('us_p90', float('nan')):9.2f}, first "
                  f"{hpo.get('us_first', float('nan')):9.1f})"
                  + (f"   Optuna {o['us_median']:9.1f} us (p90 {o['us_p90']:9.1f})"
                     f"   {row['ratio']:7.1f}x; stops {hpo['stop_decisions']} and "
                     f"{o['stop_decisions']}" if o else "   Optuna: none here"),
                  flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"command": " ".join(["bench/early_stopping/pruner_speed.py"]
                                           + (argv if argv is not None else sys.argv[1:])),
                       "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
