#!/usr/bin/env python3
"""How many steps a per-curve rule could save at best on the synthetic problems.

  python bench/early_stopping/bounds.py --seeds=0-19 [--sampler=tpe|random]

A per-curve rule (like `curve_fitting`) judges a trial from its own values
and the best completed final. On the synthetic problems the truth is known,
so rules that know more than any real rule can be run in its place, as
Optuna pruners, with Optuna's sampler choosing the trials (hpo's `tpe`
follows Optuna's TPESampler: samplers/tpe/README.md). Each stops a trial, as
`curve_fitting` does, once it has `start_step` reports and some trial has
completed, when its forecast of the trial's final value misses the cutoff:
the best completed trial's noise-free final plus (1 - threshold) of it.

- `oracle/clairvoyant` forecasts the noise-free final: it stops every trial
  that will miss the cutoff at its first judgement (a rule can use fewer
  steps only where stopping changes what the sampler proposes next).
- `oracle/turn_seen` knows the curve without its turn up (`decay`) and sees
  the turn the step it starts (`pow_overfit`'s late overfitting): from then
  on it forecasts the noise-free final, before it the decay's.
- `oracle/turn_tested` knows the same, and the onset of a possible turn and
  the noise level, but must see the turn in the noisy values: a one-sided
  test at level `--alpha` of the residuals from the decay against a line
  rising from the onset, repeated at every step (lenient: no correction).
- `oracle/turn_unseen` knows the decay and never sees the turn.
- `oracle/neighbours` is `turn_tested` that, until it sees the turn, also
  expects the turn of the completed trials near in the parameters: their
  noise-free turns (final less the decay's final) averaged with Gaussian
  weights of bandwidth `--bandwidth` in the unit cube (log scale where the
  parameter is): what learning across trials could add.

Each oracle is held against no stopping with the same sampler (`nop`), over
the same seeds; columns as in report.py (steps / none is the median ratio;
Δ and the Wilcoxon p are paired by seed).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import curves  # noqa: E402
import report  # noqa: E402
from run import parse_seeds  # noqa: E402

T = curves.EPOCHS
ORACLES = ["oracle/clairvoyant", "oracle/turn_seen", "oracle/turn_tested", "oracle/turn_unseen",
           "oracle/neighbours"]


def unit_point(problem, raw):
    """The parameters in the unit cube, log-scaled where the space says so."""
    out = []
    for s in problem.parameters:
        r = s["doubleRange"]
        lo, hi, v = r["min"], r["max"], raw[s["name"]]
        if r.get("log"):
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        out.append((v - lo) / (hi - lo))
    return out


def forecast(oracle, curve, values, alpha_z, completed=(), point=(), bandwidth=0.15):
    """The oracle's forecast of the curve's final value after `values`;
    `completed`: (unit point, noise-free turn) of the completed trials, and
    `point` this trial's, for `oracle/neighbours`."""
    step = len(values)
    if oracle == "oracle/neighbours":
        tested = forecast("oracle/turn_tested", curve, values, alpha_z)
        weights = [math.exp(-sum((a - b) ** 2 for a, b in zip(p, point)) / (2 * bandwidth ** 2))
                   for p, _ in completed]
        if tested != curve.decay(T) or sum(weights) < 1e-3:
            return tested
        return curve.decay(T) + sum(w * t for w, (_, t) in zip(weights, completed)) / sum(weights)
    if oracle == "oracle/clairvoyant":
        return curve.f(T)
    if oracle == "oracle/turn_unseen":
        return curve.decay(T)
    if oracle == "oracle/turn_seen":
        return curve.f(T) if step > curve.onset else curve.decay(T)
    # turn_tested: least squares of the residuals on (t - onset), t > onset,
    # with the noise known: z = slope / (noise / sqrt(sum (t - onset)^2)).
    after = [t for t in range(1, step + 1) if t > curve.onset]
    if not after:
        return curve.decay(T)
    sxx = sum((t - curve.onset) ** 2 for t in after)
    slope = sum((values[t - 1] - curve.decay(t)) * (t - curve.onset) for t in after) / sxx
    seen = slope / (curve.noise / math.sqrt(sxx)) > alpha_z
    return curve.f(T) if seen else curve.decay(T)


def run(problem, arm, sampler, seed, n_trials, args, alpha_z):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    make = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}[sampler]
    study = optuna.create_study(direction="minimize", sampler=make(seed=seed))
    trials, finals, completed = [], [], []

    def objective(t):
        raw = {}
        for s in problem.parameters:
            r = s["doubleRange"]
            raw[s["name"]] = t.suggest_float(s["name"], r["min"], r["max"], log=r.get("log", False))
        curve = problem.start(seed, curves.typed(problem.parameters, raw))
        point = unit_point(problem, raw)
        values = []
        for step in range(1, T + 1):
            values.append(curve.next())
            t.report(values[-1], step)
            if arm != "nop" and finals and step >= args.start_step and step < T:
                best = min(finals)
                cutoff = best + (1 - args.threshold) * abs(best)
                if forecast(arm, curve, values, alpha_z, completed, point,
                            args.bandwidth) > cutoff:
                    trials.append((step, True, values[-1], None))
                    raise optuna.TrialPruned()
        finals.append(curve.truth())
        completed.append((point, curve.f(T) - curve.decay(T)))
        trials.append((T, False, values[-1], curve.truth()))
        return values[-1]

    study.optimize(objective, n_trials=n_trials)
    done = [t for t in trials if not t[1]]
    best = min(done, key=lambda t: t[2])
    return {"problem": problem.name, "arm": arm, "seed": seed,
            "steps": sum(t[0] for t in trials), "pruned": sum(t[1] for t in trials),
            "best": best[2], "best_truth": best[3]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default="exp_crossing,pow_overfit")
    ap.add_argument("--sampler", default="tpe", choices=["tpe", "random"])
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--start_step", type=int, default=6)
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--bandwidth", type=float, default=0.15)
    args = ap.parse_args(argv)
    from scipy.stats import norm
    alpha_z = float(norm.isf(args.alpha))
    rows = []
    for name in args.problems.split(","):
        problem = curves.find(name)
        if problem.kind != "synthetic":
            ap.error(f"{name} is not synthetic: its truth is not known in advance")
        for seed in parse_seeds(args.seeds):
            for arm in ["nop"] + ORACLES:
                rows.append(run(problem, arm, args.sampler, seed, args.trials, args, alpha_z))
    print(f"sampler {args.sampler}, seeds {args.seeds}, {args.trials} trials, start_step "
          f"{args.start_step}, threshold {args.threshold}, alpha {args.alpha}, bandwidth "
          f"{args.bandwidth}\n")
    print("| oracle | problem | steps / none | Δbest (p) | Δtruth (p) |")
    print("|---|---|---|---|---|")
    for name in args.problems.split(","):
        by = {}
        for r in rows:
            if r["problem"] == name:
                by.setdefault(r["arm"], []).append(r)
        none = by["nop"]
        for arm in ORACLES:
            runs = by[arm]
            ratio = report._median([r["steps"] / n["steps"] for r, n in zip(runs, none)])
            cells = []
            for key in ["best", "best_truth"]:
                a, b = [r[key] for r in runs], [n[key] for n in none]
                cells.append(f"{report._delta(a, b):+.4f} ({report._p(report.wilcoxon(a, b))})")
            print(f"| {arm} | {name} | {ratio:.2f} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
