#!/usr/bin/env python3
"""Runs the Python peers (Optuna's samplers, hyperopt's TPE, random search) on
the benchmark problems and writes traces in the shared format (traces.py).

  python bench/run_peers.py --problems=branin,levy10 --seeds=0-9 \\
      --budgets=50,100,200 --out_dir=bench/results/traces

Every peer is run with its library's defaults, seeded with the run's seed,
one trial at a time. None of them knows the budget, so each runs once at the
largest budget and the trace's prefixes are the smaller budgets' runs.
Time per suggestion: Optuna, study.ask() through the last suggest_* call;
hyperopt, the call of tpe.suggest.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import problems as problems_mod  # noqa: E402
from traces import make_trace, trace_path  # noqa: E402

# Optuna 5's default TPESampler is multivariate for single-objective studies,
# so optuna/tpe and optuna/tpe-mv (TPESampler(multivariate=True)) are the same
# sampler; optuna/tpe-uni is the univariate TPE (Optuna <= 4's default).
PEERS = ["optuna/tpe", "optuna/tpe-uni", "optuna/gp", "optuna/cmaes",
         "hyperopt/tpe", "optuna/random"]
KNOWN = PEERS + ["optuna/tpe-mv"]


def parse_seeds(s: str) -> list[int]:
    out = []
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def parse_problems(s: str) -> list:
    every = problems_mod.all_problems()
    groups = {"all": every, "synthetic": [p for p in every if p.kind == "synthetic"],
              "tabular": [p for p in every if p.kind == "tabular"],
              "live": [p for p in every if p.kind == "live"]}
    out = []
    for part in s.split(","):
        part = part.strip()
        if part in groups:
            out.extend(groups[part])
        elif part:
            out.append(problems_mod.find(part))
    return out


# --- Optuna -----------------------------------------------------------------

def optuna_suggest(trial, parameters: list[dict]) -> dict:
    """The hpo space, define-by-run: conditional parameters are suggested only
    when their parent takes one of the condition's values."""
    params = {}
    for spec in parameters:
        name = spec["name"]
        cond = spec.get("condition")
        if cond is not None:
            if cond["parent"] not in params or params[cond["parent"]] not in cond["values"]:
                continue
        if "doubleRange" in spec:
            r = spec["doubleRange"]
            params[name] = trial.suggest_float(name, float(r["min"]), float(r["max"]),
                                               log=bool(r.get("log", False)),
                                               step=r.get("step") or None)
        elif "intRange" in spec:
            r = spec["intRange"]
            params[name] = trial.suggest_int(name, int(r["min"]), int(r["max"]),
                                             log=bool(r.get("log", False)),
                                             step=int(r.get("step", 1) or 1))
        elif "categorical" in spec:
            params[name] = trial.suggest_categorical(name, spec["categorical"]["values"])
        elif "discrete" in spec:
            params[name] = trial.suggest_categorical(name, spec["discrete"]["values"])
        else:
            raise ValueError(f"parameter {name}: unknown domain")
    return params


def optuna_sampler(method: str, seed: int):
    import optuna
    if method == "optuna/tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if method == "optuna/tpe-mv":
        return optuna.samplers.TPESampler(multivariate=True, seed=seed)
    if method == "optuna/tpe-uni":
        return optuna.samplers.TPESampler(multivariate=False, seed=seed)
    if method == "optuna/gp":
        return optuna.samplers.GPSampler(seed=seed)
    if method == "optuna/cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if method == "optuna/random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(method)


def run_optuna(method, problem, seed, budget, objective):
    import optuna
    study = optuna.create_study(direction="minimize", sampler=optuna_sampler(method, seed))
    values, trues, seconds, params = [], [], [], []
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask()
        p = optuna_suggest(trial, problem.parameters)
        seconds.append(time.perf_counter() - t0)
        observed, true = objective(p)
        study.tell(trial, observed)
        values.append(observed)
        trues.append(true)
        params.append(p)
    return "ok", "", values, trues, seconds, params


# --- hyperopt -----------------------------------------------------------------

def hyperopt_space(parameters: list[dict]):
    """The hpo space as a hyperopt space: a categorical parameter with
    children becomes hp.choice over one dict per label, holding the children
    active under that label."""
    from hyperopt import hp
    children = {}
    for spec in parameters:
        cond = spec.get("condition")
        if cond is not None:
            for v in cond["values"]:
                children.setdefault((cond["parent"], v), []).append(spec)

    def leaf(spec):
        name = spec["name"]
        if "doubleRange" in spec:
            r = spec["doubleRange"]
            lo, hi = float(r["min"]), float(r["max"])
            if r.get("step"):
                raise ValueError(f"{name}: stepped ranges are not mapped to hyperopt")
            return hp.loguniform(name, math.log(lo), math.log(hi)) if r.get("log") \
                else hp.uniform(name, lo, hi)
        if "intRange" in spec:
            r = spec["intRange"]
            lo, hi = int(r["min"]), int(r["max"])
            if r.get("log"):
                # Rounded in log space's image; clipped back into range below.
                return hp.qloguniform(name, math.log(lo - 0.5 if lo > 1 else lo),
                                      math.log(hi + 0.5), 1)
            return hp.uniformint(name, lo, hi)
        raise ValueError(name)

    def node(spec):
        name = spec["name"]
        labels = (spec["categorical"]["values"] if "categorical" in spec
                  else spec["discrete"]["values"] if "discrete" in spec else None)
        if labels is None:
            return leaf(spec)
        if not any((name, l) in children for l in labels):
            return hp.choice(name, list(labels))
        options = []
        for label in labels:
            opt = {"__label__": label}
            for child in children.get((name, label), []):
                opt[child["name"]] = node(child)
            options.append(opt)
        return hp.choice(name, options)

    return {spec["name"]: node(spec) for spec in parameters if "condition" not in spec}


def flatten_hyperopt(sample: dict, parameters: list[dict]) -> dict:
    specs = {s["name"]: s for s in parameters}
    out = {}

    def walk(d):
        for k, v in d.items():
            if k == "__label__":
                continue
            if isinstance(v, dict) and "__label__" in v:
                out[k] = v["__label__"]
                walk(v)
            else:
                out[k] = v
    walk(sample)
    for k, v in list(out.items()):
        spec = specs[k]
        if "intRange" in spec:
            r = spec["intRange"]
            out[k] = min(max(int(round(float(v))), int(r["min"])), int(r["max"]))
        elif "doubleRange" in spec:
            out[k] = float(v)
    return out


def run_hyperopt(method, problem, seed, budget, objective):
    import numpy as np
    from hyperopt import STATUS_OK, Trials, fmin, tpe
    space = hyperopt_space(problem.parameters)
    values, trues, seconds, params = [], [], [], []

    def timed_suggest(*args, **kwargs):
        t0 = time.perf_counter()
        out = tpe.suggest(*args, **kwargs)
        seconds.append(time.perf_counter() - t0)
        return out

    def f(sample):
        p = flatten_hyperopt(sample, problem.parameters)
        observed, true = objective(p)
        values.append(observed)
        trues.append(true)
        params.append(p)
        return {"loss": observed, "status": STATUS_OK}

    fmin(f, space, algo=timed_suggest, max_evals=budget, trials=Trials(),
         rstate=np.random.default_rng(seed), show_progressbar=False)
    return "ok", "", values, trues, seconds[:len(values)], params


def run_peer(method, problem, seed, budget, objective):
    if method.startswith("optuna/"):
        return run_optuna(method, problem, seed, budget, objective)
    if method == "hyperopt/tpe":
        return run_hyperopt(method, problem, seed, budget, objective)
    raise ValueError(f"unknown method {method!r} (known: {', '.join(KNOWN)})")


def versions() -> dict:
    out = {}
    for mod in ("optuna", "hyperopt", "numpy", "scipy", "torch", "sklearn", "cmaes"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - only a label
            pass
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join(PEERS))
    ap.add_argument("--problems", default="synthetic",
                    help="names, or the groups all, synthetic, tabular, live")
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--budgets", default="50")
    ap.add_argument("--out_dir", required=True)
    ap.add_argument("--keep_params", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    import logging
    logging.getLogger("hyperopt").setLevel(logging.ERROR)

    os.makedirs(args.out_dir, exist_ok=True)
    seeds = parse_seeds(args.seeds)
    budget = max(int(b) for b in args.budgets.split(",") if b.strip())
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in KNOWN:
            ap.error(f"unknown method {m!r} (known: {', '.join(KNOWN)})")
    lib_versions = versions()
    failures = 0
    for problem in parse_problems(args.problems):
        for method in methods:
            path = trace_path(args.out_dir, problem.name, method)
            start = time.time()
            with open(path, "w") as out:
                for seed in seeds:
                    objective = problem.make_objective(seed)
                    run_start = time.perf_counter()
                    try:
                        status, message, values, trues, seconds, params = run_peer(
                            method, problem, seed, budget, objective)
                    except Exception as e:  # noqa: BLE001 - recorded in the trace
                        failures += 1
                        status, message, values, trues, seconds, params = (
                            "error", f"{type(e).__name__}: {e}", [], [], [], [])
                        print(f"run_peers: {problem.name} {method} seed {seed}: {message}",
                              file=sys.stderr)
                    library = method.split("/")[0]
                    trace = make_trace(
                        problem=problem.name, method=method, library=library,
                        transport="in-process", algorithm=method.split("/")[1],
                        settings={}, seed=seed, budget=budget, prefix_valid=True,
                        status=status, message=message, optimum=problem.optimum,
                        values=values, trues=trues, seconds=seconds,
                        params=params if args.keep_params else None,
                        extra={"versions": {library: lib_versions.get(library, "")},
                               "wall_seconds": time.perf_counter() - run_start})
                    out.write(json.dumps(trace) + "\n")
                    out.flush()
            if not args.quiet:
                print(f"run_peers: {problem.name} {method}: {len(seeds)} seeds in "
                      f"{time.time() - start:.1f} s", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
