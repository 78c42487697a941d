#!/usr/bin/env python3
"""Early stopping: hpo's rules over gRPC against Optuna's pruners.

  bazel build --symlink_prefix=/ //server:hpo-server
  python bench/early_stopping/run.py --server=$(bazel info bazel-bin)/server/hpo-server \\
      --seeds=0-9 --trials=40 --out=bench/early_stopping/results

Every arm runs every problem (curves.py) with every seed: `--trials` trials
picked by the same kind of sampler (hpo's `tpe` or Optuna's TPESampler(seed),
or random on both), each trained epoch by epoch and reported after every epoch;
a trial the rule stops ends pruned with its last value. An arm's steps are
the epochs its trials ran; its final best is the best final value of a trial
that ran to the end (Optuna's best_value). hpo runs go to a real hpo-server
(fresh SQLite database in a temporary directory) over gRPC, as a worker would.

Work is split by (problem, seed) among --jobs processes. Each keeps the curves
of the (problem, seed) at hand, so parameters that come up again in another
arm (the samplers' identical start-up trials) are not retrained: training is
deterministic in (seed, params), the values are the same, and steps are
counted per trial as if trained. Writes runs.jsonl, results.json and
results.md to --out (report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import curves  # noqa: E402
import report  # noqa: E402

T = curves.EPOCHS

# The rules' settings: the same for every problem, chosen before any run (see
# README.md). Only max_resource and epoch_num name the problems' length.
HPO_RULES = {
    "hpo/none": None,
    "hpo/median": ("median", {"n_startup_trials": 5, "n_warmup_steps": 5}),
    "hpo/percentile": ("percentile", {"percentile": 25, "n_startup_trials": 5,
                                      "n_warmup_steps": 5}),
    "hpo/asha": ("asha", {"grace_period": 1, "reduction_factor": 4, "max_t": T}),
    "hpo/successive_halving": ("successive_halving", {"min_resource": "auto",
                                                      "reduction_factor": 4}),
    "hpo/hyperband": ("hyperband", {"min_resource": 1, "max_resource": T,
                                    "reduction_factor": 3}),
    "hpo/curve_fitting": ("curve_fitting", {"epoch_num": T, "start_step": 6,
                                            "threshold": 0.95}),
}


def optuna_pruner(arm):
    import optuna.pruners as p
    return {
        "optuna/nop": p.NopPruner,
        "optuna/median": lambda: p.MedianPruner(n_startup_trials=5, n_warmup_steps=5),
        "optuna/percentile": lambda: p.PercentilePruner(25, n_startup_trials=5,
                                                        n_warmup_steps=5),
        "optuna/successive_halving": p.SuccessiveHalvingPruner,
        "optuna/hyperband": lambda: p.HyperbandPruner(min_resource=1, max_resource=T,
                                                      reduction_factor=3),
    }[arm]()


OPTUNA_ARMS = ["optuna/nop", "optuna/median", "optuna/percentile",
               "optuna/successive_halving", "optuna/hyperband"]
ALL_ARMS = list(HPO_RULES) + OPTUNA_ARMS


class Memo:
    """The curves of one (problem, seed), by parameters."""

    def __init__(self):
        self.key, self.curves = None, {}

    def curve(self, problem, seed, params):
        if self.key != (problem.name, seed):
            self.key, self.curves = (problem.name, seed), {}
        k = json.dumps(sorted(params.items()))
        if k not in self.curves:
            self.curves[k] = Cached(problem.start(seed, params))
        return self.curves[k]


class Cached:
    def __init__(self, curve):
        self.curve, self.values, self._truth = curve, [], None

    def value(self, step):
        while len(self.values) < step:
            self.values.append(self.curve.next())
        return self.values[step - 1]

    def truth(self):
        """At the last step computed; asked only of trials that ran to the end."""
        if self._truth is None:
            self._truth = self.curve.truth()
        return self._truth


def parse_settings(text):
    """key=value;key=value as a dict; empty text, no settings."""
    out = {}
    for part in filter(None, text.split(";")):
        key, sep, value = part.partition("=")
        if not sep:
            raise SystemExit(f"--hpo_settings: expected key=value, got {part!r}")
        out[key.strip()] = value.strip()
    return out


def run_hpo(server, problem, arm, sampler, seed, n_trials, memo, counter, settings=None):
    import grpc_driver
    pb2, _ = grpc_driver.stubs()
    stub = server.stub
    name = f"es{os.getpid()}-{counter}"
    e = grpc_driver.experiment(name, problem.parameters, sampler, settings or {}, seed,
                               n_trials)
    rule = HPO_RULES[arm]
    if rule:
        e.early_stopping.name = rule[0]
        e.early_stopping.settings.update({k: str(v) for k, v in rule[1].items()})
    stub.CreateExperiment(pb2.CreateExperimentRequest(experiment=e))
    trials = []
    try:
        for _ in range(n_trials):
            trial = stub.GetTrialConfig(pb2.GetTrialConfigRequest(experiment=name,
                                                                  worker_id="bench"))
            raw = grpc_driver.trial_params(trial)
            curve = memo.curve(problem, seed, curves.typed(problem.parameters, raw))
            for step in range(1, T + 1):
                value = curve.value(step)
                stop = stub.ReportIntermediate(pb2.ReportIntermediateRequest(
                    experiment=name, trial=trial.number, step=step,
                    metrics={"value": value}, worker_id="bench")).should_stop
                if stop:
                    break
            stub.ReportResult(pb2.ReportResultRequest(
                experiment=name, trial=trial.number, metrics={"value": value},
                worker_id="bench", pruned=stop))
            trials.append((step, stop, value, None if stop else curve.truth(), raw))
    finally:
        stub.DeleteExperiment(pb2.DeleteExperimentRequest(name=name))
    return trials


def run_optuna(problem, arm, sampler, seed, n_trials, memo, enqueue=()):
    """Like run_hpo; `enqueue`: parameters for the first trials (replay.py)."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Optuna has no "auto"; its GPSampler is the nearest to what hpo's auto
    # runs on these 3-parameter spaces (GP).
    make = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler,
            "gp": optuna.samplers.GPSampler, "auto": optuna.samplers.GPSampler}[sampler]
    # HyperbandPruner hashes the study name into brackets: fixed, for repeatable runs.
    study = optuna.create_study(study_name=f"es-{problem.name}-{seed}", direction="minimize",
                                sampler=make(seed=seed), pruner=optuna_pruner(arm))
    for params in enqueue:
        study.enqueue_trial(params)
    trials = []

    def objective(t):
        raw = {}
        for s in problem.parameters:
            kind = "doubleRange" if "doubleRange" in s else "intRange"
            r = s[kind]
            suggest = t.suggest_float if kind == "doubleRange" else t.suggest_int
            raw[s["name"]] = suggest(s["name"], r["min"], r["max"], log=r.get("log", False))
        curve = memo.curve(problem, seed, curves.typed(problem.parameters, raw))
        for step in range(1, T + 1):
            value = curve.value(step)
            t.report(value, step)
            if t.should_prune():
                trials.append((step, True, value, None, raw))
                raise optuna.TrialPruned()
        trials.append((T, False, value, curve.truth(), raw))
        return value

    study.optimize(objective, n_trials=n_trials)
    return trials


def summarize(problem, arm, sampler, seed, trials, seconds):
    done = [t for t in trials if not t[1]]
    best = min(done, key=lambda t: t[2]) if done else None
    return {"problem": problem.name, "kind": problem.kind, "arm": arm, "sampler": sampler,
            "seed": seed, "trials": len(trials), "steps": sum(t[0] for t in trials),
            "pruned": sum(t[1] for t in trials), "best": best[2] if best else None,
            "best_truth": best[3] if best else None,
            "trial_steps": [t[0] for t in trials], "seconds": round(seconds, 3)}


def parse_seeds(s):
    out = []
    for part in s.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def run_shard(args, shard, jobs, path):
    arms = args.arms.split(",")
    groups = [(curves.find(p), seed) for seed in parse_seeds(args.seeds)
              for p in args.problems.split(",")][shard::jobs]
    server = None
    if any(a.startswith("hpo/") for a in arms):
        import grpc_driver
        # The database on tmpfs where there is one: steps are measured, not time.
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        workdir = tempfile.mkdtemp(prefix="hpo-es-", dir=shm)
        server = grpc_driver.Server(args.server, workdir)
    memo, counter = Memo(), 0
    try:
        with open(path, "w") as out:
            for problem, seed in groups:
                for arm in arms:
                    start = time.perf_counter()
                    if arm.startswith("hpo/"):
                        counter += 1
                        trials = run_hpo(server, problem, arm, args.sampler, seed,
                                         args.trials, memo, counter,
                                         parse_settings(args.hpo_settings))
                    else:
                        trials = run_optuna(problem, arm, args.sampler, seed, args.trials, memo)
                    row = summarize(problem, arm, args.sampler, seed, trials,
                                    time.perf_counter() - start)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    if not args.quiet:
                        print(f"{problem.name} seed {seed} {arm}: {row['steps']} steps, "
                              f"best {row['best']}, {row['seconds']:.1f} s", file=sys.stderr)
    finally:
        if server:
            server.stop()
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default=",".join(p.name for p in curves.PROBLEMS))
    ap.add_argument("--arms", default=",".join(ALL_ARMS))
    ap.add_argument("--sampler", default="tpe", choices=["tpe", "random", "gp", "auto"])
    ap.add_argument("--hpo_settings", default="",
                    help="algorithm settings for hpo's arms, key=value;key=value")
    ap.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,3,5")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--server", default=os.path.join(
        os.path.dirname(os.path.dirname(HERE)), "bazel-bin", "server", "hpo-server"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--shard", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    unknown = set(args.arms.split(",")) - set(ALL_ARMS)
    if unknown:
        ap.error(f"unknown arms {sorted(unknown)} (known: {', '.join(ALL_ARMS)})")
    os.makedirs(args.out, exist_ok=True)
    if args.shard is not None:
        run_shard(args, args.shard, args.jobs, os.path.join(args.out, f"runs-{args.shard}.jsonl"))
        return 0
    argv = sys.argv[1:] if argv is None else argv
    children = [subprocess.Popen([sys.executable, os.path.abspath(__file__), *argv,
                                  f"--shard={k}"]) for k in range(args.jobs)]
    if any(c.wait() != 0 for c in children):
        print("run: a shard failed", file=sys.stderr)
        return 1
    rows = []
    for k in range(args.jobs):
        shard = os.path.join(args.out, f"runs-{k}.jsonl")
        rows += [json.loads(line) for line in open(shard)]
        os.remove(shard)
    rows.sort(key=lambda r: (r["problem"], r["arm"], r["seed"]))
    with open(os.path.join(args.out, "runs.jsonl"), "w") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    config = {"command": " ".join(["bench/early_stopping/run.py"] + argv), "epochs": T,
              "trials": args.trials, "sampler": args.sampler, "seeds": args.seeds,
              "hpo_rules": {a: r and {"name": r[0], "settings": r[1]}
                            for a, r in HPO_RULES.items()}}
    report.write(rows, config, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
