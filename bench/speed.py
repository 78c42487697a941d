#!/usr/bin/env python3
"""Time per suggestion with N completed trials, in D dimensions (D doubles in
[0, 1]; values of a shifted sphere): hpo in-process (the bench:speed binary),
hpo over gRPC (the real server), and Optuna (in-memory storage).

  python bench/speed.py --speed_bin=$(bazel info bazel-bin)/bench/speed \\
      --server=$(bazel info bazel-bin)/server/hpo-server --out=bench/results/speed.json

Grid: tpe, random and sobol at 100, 1000 and 5000 trials; gp at 50, 200 and
500; each in 2, 10 and 30 dimensions. Optuna's counterparts: TPESampler,
RandomSampler, QMCSampler(qmc_type="sobol"), GPSampler, all with defaults.
  - in-process: Sampler::Suggest on a History of N completed trials, each
    suggestion then added to the history as a completed trial (the sampler
    object kept, as the server keeps it);
  - gRPC: an experiment given N completed trials with AddTrial, then the
    GetTrialConfig round trip (each followed by its ReportResult, so the
    history grows by one per repeat);
  - Optuna: a study given N completed trials with add_trials(create_trial),
    then study.ask(fixed_distributions) (which samples every parameter),
    each followed by tell.
The median of --repeats timings is reported (and the minimum). With --runs=K
the whole grid runs K times in a row, and each cell reports the median of its K
medians (and every run's, in ms_median_runs): on a shared VM a whole run can be
a third slower than the next, for hpo and Optuna alike.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

GRID = {"tpe": [100, 1000, 5000], "random": [100, 1000, 5000],
        "sobol": [100, 1000, 5000], "gp": [50, 200, 500]}


def history(dims, n, seed=12345):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x = [rng.random() for _ in range(dims)]
        out.append((x, sum((xi - 0.3) ** 2 for xi in x)))
    return out


def row(library, transport, sampler, group, dims, trials, times_ms, status="ok"):
    return {"library": library, "transport": transport, "sampler": sampler, "group": group,
            "dims": dims, "trials": trials, "status": status, "repeats": len(times_ms),
            "ms_median": statistics.median(times_ms) if times_ms else None,
            "ms_min": min(times_ms) if times_ms else None}


def in_process(speed_bin, samplers, dims, repeats):
    rows = []
    for s in samplers:
        trials = ",".join(str(n) for n in GRID[s])
        out = subprocess.run([speed_bin, f"--samplers={s}", f"--trials={trials}",
                              f"--dims={','.join(map(str, dims))}", f"--repeats={repeats}"],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            r = json.loads(line)
            r["group"] = s
            rows.append(r)
            print("speed:", json.dumps(r), file=sys.stderr)
    return rows


def over_grpc(server_bin, samplers, dims, repeats):
    import grpc
    import grpc_driver
    pb2, _ = grpc_driver.stubs()
    rows = []
    with grpc_driver.Server(server_bin) as server:
        known = grpc_driver.registered_samplers(server)
        for s in samplers:
            if s not in known:
                rows.append({"library": "hpo", "transport": "grpc", "sampler": s, "group": s,
                             "status": "not registered"})
                continue
            for d in dims:
                name = f"speed-{s}-{d}"
                params = [{"name": f"x{i}", "doubleRange": {"min": 0, "max": 1}} for i in range(d)]
                e = grpc_driver.experiment(name, params, s, {}, 7, 0, 0)
                server.stub.CreateExperiment(pb2.CreateExperimentRequest(experiment=e))
                points = history(d, max(GRID[s]))
                added = 0
                for n in GRID[s]:
                    while added < n:
                        x, v = points[added]
                        req = pb2.AddTrialRequest(experiment=name, metrics={"value": v})
                        for i, xi in enumerate(x):
                            req.parameters[f"x{i}"].number_value = xi
                        server.stub.AddTrial(req)
                        added += 1
                    times = []
                    status = "ok"
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        try:
                            trial = server.stub.GetTrialConfig(
                                pb2.GetTrialConfigRequest(experiment=name, worker_id="speed"))
                        except grpc.RpcError as err:
                            status = f"{err.code().name}: {err.details()}"
                            break
                        times.append(1000 * (time.perf_counter() - t0))
                        x = [trial.parameters[f"x{i}"].number_value for i in range(d)]
                        server.stub.ReportResult(pb2.ReportResultRequest(
                            experiment=name, trial=trial.number, worker_id="speed",
                            metrics={"value": sum((xi - 0.3) ** 2 for xi in x)}))
                    r = row("hpo", "grpc", s, s, d, n, times, status)
                    rows.append(r)
                    print("speed:", json.dumps(r), file=sys.stderr)
                server.stub.DeleteExperiment(pb2.DeleteExperimentRequest(name=name))
    return rows


def optuna_rows(samplers, dims, repeats):
    import warnings
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    make = {"tpe": ("TPESampler", lambda: optuna.samplers.TPESampler(seed=7)),
            "random": ("RandomSampler", lambda: optuna.samplers.RandomSampler(seed=7)),
            "sobol": ("QMCSampler", lambda: optuna.samplers.QMCSampler(qmc_type="sobol", seed=7)),
            "gp": ("GPSampler", lambda: optuna.samplers.GPSampler(seed=7))}
    rows = []
    for s in samplers:
        label, factory = make[s]
        for d in dims:
            dists = {f"x{i}": optuna.distributions.FloatDistribution(0, 1) for i in range(d)}
            points = history(d, max(GRID[s]))
            study = optuna.create_study(sampler=factory(),
                                        storage=optuna.storages.InMemoryStorage())
            added = 0
            for n in GRID[s]:
                study.add_trials([
                    optuna.trial.create_trial(params={f"x{i}": xi for i, xi in enumerate(x)},
                                              distributions=dists, value=v)
                    for x, v in points[added:n]])
                added = n
                times = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    trial = study.ask(fixed_distributions=dists)
                    times.append(1000 * (time.perf_counter() - t0))
                    study.tell(trial, sum((trial.params[k] - 0.3) ** 2 for k in dists))
                r = row("optuna", "in-process", label, s, d, n, times)
                rows.append(r)
                print("speed:", json.dumps(r), file=sys.stderr)
    return rows


def merge_runs(runs):
    """Per cell: the median of the runs' medians and the least minimum."""
    def key(r):
        return (r["library"], r["transport"], r["sampler"], r["group"], r["dims"],
                r["trials"])
    cells = {}
    for rows in runs:
        for r in rows:
            cells.setdefault(key(r), []).append(r)
    merged = []
    for same in cells.values():
        r = dict(same[0])
        medians = [x["ms_median"] for x in same if x["ms_median"] is not None]
        minima = [x["ms_min"] for x in same if x["ms_min"] is not None]
        r["ms_median"] = statistics.median(medians) if medians else None
        r["ms_min"] = min(minima) if minima else None
        r["runs"] = len(same)
        r["ms_median_runs"] = medians
        merged.append(r)
    return merged


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samplers", default="tpe,random,sobol,gp")
    ap.add_argument("--dims", default="2,10,30")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--runs", type=int, default=1, help="run the grid this many times")
    ap.add_argument("--speed_bin", default="")
    ap.add_argument("--server", default="")
    ap.add_argument("--skip", default="", help="comma list of in-process,grpc,optuna to skip")
    ap.add_argument("--quick", action="store_true", help="small N only (smoke)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.quick:
        for k in GRID:
            GRID[k] = GRID[k][:1]
    samplers = [s for s in args.samplers.split(",") if s]
    for s in samplers:
        if s not in GRID:
            ap.error(f"unknown sampler {s!r} (known: {', '.join(GRID)})")
    dims = [int(d) for d in args.dims.split(",")]
    skip = set(args.skip.split(","))
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    runs = []
    for _ in range(max(1, args.runs)):
        rows = []
        if "in-process" not in skip:
            rows += in_process(args.speed_bin, samplers, dims, args.repeats)
        if "grpc" not in skip:
            rows += over_grpc(args.server or None, samplers, dims, args.repeats)
        if "optuna" not in skip:
            rows += optuna_rows(samplers, dims, args.repeats)
        runs.append(rows)
    generated = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if len(runs) > 1:
        rows = merge_runs(runs)
        generated += f" (median of {len(runs)} runs, the first at {started})"
    import platform
    with open(args.out, "w") as f:
        json.dump({"generated": generated,
                   "machine": f"{platform.platform()}, {os.cpu_count()} cores",
                   "repeats": args.repeats, "rows": rows}, f, indent=1)
    print(f"speed: wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
