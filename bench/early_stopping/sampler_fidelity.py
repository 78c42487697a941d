#!/usr/bin/env python3
"""Does hpo's tpe learn from pruned trials as Optuna's TPESampler does?

For each (problem, seed): Optuna runs `--history` trials with TPESampler and the
`--pruner` arm, which leaves completed and pruned trials (with their intermediate
values). That history is then given, unchanged, to both samplers:
- Optuna: a new study with those trials added (create_trial), then `--suggestions`
  asks, each told FAIL, so that every ask sees the same history;
- hpo: a new experiment (tpe) over gRPC, the same trials enqueued, run and reported
  step by step (pruned ones with ReportResult(pruned=true)), then `--suggestions`
  GetTrialConfig calls, each reported failed (tpe ignores failed trials).
Per parameter (log parameters in log space), a two-sample Kolmogorov-Smirnov test
compares the two sets of suggestions; with the same algorithm the p-values are
uniform, so about one in twenty falls below 0.05 by chance.

`--stable_optuna_sort` makes Optuna's Parzen estimator sort observations with a
stable sort, breaking ties by trial order as hpo does (NumPy's default argsort is
not stable; see samplers/tpe/README.md, "Differences kept on purpose").

  python bench/early_stopping/sampler_fidelity.py --server=$(bazel info bazel-bin)/server/hpo-server
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402  (puts bench/ on the path for grpc_driver)
import curves  # noqa: E402
import grpc_driver  # noqa: E402

DEFAULT_CASES = ("exp_crossing:10,exp_crossing:11,pow_overfit:12,sgd_digits:14,"
                 "mlp_breast_cancer:15,mlp_breast_cancer:18")


def use_stable_sort_in_optuna():
    """Optuna's bandwidths sort the observations with numpy.argsort (not stable):
    make that module's argsort stable, leaving numpy itself alone."""
    import numpy
    from optuna.samplers._tpe import parzen_estimator

    class StableArgsort:
        def __getattr__(self, name):
            return getattr(numpy, name)

        @staticmethod
        def argsort(a, *args, **kwargs):
            kwargs.setdefault("kind", "stable")
            return numpy.argsort(a, *args, **kwargs)

    parzen_estimator.np = StableArgsort()


def distributions(problem):
    import optuna
    out = {}
    for spec in problem.parameters:
        kind = "doubleRange" if "doubleRange" in spec else "intRange"
        r = spec[kind]
        make = (optuna.distributions.FloatDistribution if kind == "doubleRange"
                else optuna.distributions.IntDistribution)
        out[spec["name"]] = make(r["min"], r["max"], log=r.get("log", False))
    return out


def optuna_suggestions(problem, history, values, n):
    import optuna
    dists = distributions(problem)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=12345))
    for (_, pruned, value, _, raw), curve in zip(history, values):
        state = optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE
        study.add_trial(optuna.trial.create_trial(
            params=raw, distributions=dists, value=None if pruned else value,
            intermediate_values=dict(enumerate(curve, start=1)), state=state))
    out = []
    for _ in range(n):
        trial = study.ask(dists)
        out.append(dict(trial.params))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return out


def hpo_suggestions(server, name, problem, history, values, n):
    pb2, _ = grpc_driver.stubs()
    stub = server.stub
    stub.CreateExperiment(pb2.CreateExperimentRequest(
        experiment=grpc_driver.experiment(name, problem.parameters, "tpe", {}, 777, 0)))
    try:
        for (_, pruned, _, _, raw), curve in zip(history, values):
            enqueue = pb2.EnqueueTrialRequest(experiment=name)
            for key, value in raw.items():
                enqueue.parameters[key].number_value = value
            stub.EnqueueTrial(enqueue)
            trial = stub.GetTrialConfig(pb2.GetTrialConfigRequest(experiment=name,
                                                                  worker_id="fidelity"))
            for step, value in enumerate(curve, start=1):
                stub.ReportIntermediate(pb2.ReportIntermediateRequest(
                    experiment=name, trial=trial.number, step=step,
                    metrics={"value": value}, worker_id="fidelity"))
            stub.ReportResult(pb2.ReportResultRequest(
                experiment=name, trial=trial.number, metrics={"value": curve[-1]},
                worker_id="fidelity", pruned=pruned))
        out = []
        for _ in range(n):
            trial = stub.GetTrialConfig(pb2.GetTrialConfigRequest(experiment=name,
                                                                  worker_id="fidelity"))
            out.append(grpc_driver.trial_params(trial))
            stub.ReportResult(pb2.ReportResultRequest(
                experiment=name, trial=trial.number, failed=True, worker_id="fidelity"))
        return out
    finally:
        stub.DeleteExperiment(pb2.DeleteExperimentRequest(name=name))


def main(argv=None):
    from scipy import stats
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=DEFAULT_CASES, help="problem:seed,...")
    ap.add_argument("--history", type=int, default=40)
    ap.add_argument("--suggestions", type=int, default=600)
    ap.add_argument("--pruner", default="optuna/percentile", choices=sorted(run.OPTUNA_ARMS))
    ap.add_argument("--server", default=str(grpc_driver.default_server_binary()))
    ap.add_argument("--stable_optuna_sort", action="store_true")
    args = ap.parse_args(argv)
    memo = run.Memo()
    # The histories first, from Optuna as it is.
    cases = []
    for case in args.cases.split(","):
        name, _, seed = case.partition(":")
        problem, seed = curves.find(name), int(seed)
        history = run.run_optuna(problem, args.pruner, "tpe", seed, args.history, memo)
        values = []
        for steps, _, _, _, raw in history:
            curve = memo.curve(problem, seed, curves.typed(problem.parameters, raw))
            values.append([curve.value(s) for s in range(1, steps + 1)])
        cases.append((problem, seed, history, values))
    if args.stable_optuna_sort:
        use_stable_sort_in_optuna()
    workdir = tempfile.mkdtemp(prefix="hpo-es-fidelity-")
    server = grpc_driver.Server(args.server, workdir)
    pvalues = []
    try:
        for k, (problem, seed, history, values) in enumerate(cases):
            theirs = optuna_suggestions(problem, history, values, args.suggestions)
            ours = hpo_suggestions(server, f"fidelity-{k}", problem, history, values,
                                   args.suggestions)
            print(f"{problem.name} seed {seed}: {len(history)} trials, "
                  f"{sum(h[1] for h in history)} pruned by {args.pruner}")
            for spec in problem.parameters:
                key = spec["name"]
                r = spec.get("doubleRange") or spec["intRange"]
                f = math.log if r.get("log", False) else float
                a = [f(p[key]) for p in ours]
                b = [f(p[key]) for p in theirs]
                p = stats.ks_2samp(a, b).pvalue
                pvalues.append(p)
                print(f"  {key}: hpo mean {statistics.mean(a):.4f} sd {statistics.stdev(a):.4f}"
                      f", Optuna mean {statistics.mean(b):.4f} sd {statistics.stdev(b):.4f}"
                      f", KS p = {p:.3f}")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    low = sum(p < 0.05 for p in pvalues)
    print(f"sampler_fidelity: {low} of {len(pvalues)} parameters differ at p < 0.05 "
          f"(smallest p = {min(pvalues):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
