#!/usr/bin/env python3
"""A Katib GetSuggestions round at 1000 trials: hpo's tpe through Katib's API against
Optuna's TPE (what Katib's own tpe service wraps) on the same history, in one run; and
hpo-server's memory and CPU there, against Katib's default suggestion limits (500m CPU,
100 MiB).

hpo: the real hpo-server with --katib_port, driven the way Katib's controller drives a
suggestion service: each round sends the whole spec and every trial (observations as
strings) and asks for `--parallel` trials. It first plays `--trials` trials that way
(the server's RSS and CPU are read from /proc meanwhile), then times `--rounds` more
rounds: report the running trials, ask for as many new ones.

Optuna: a study holding the same trials (same parameters and values), timed per round as
Katib's Optuna service spends it: tell the finished trials, then ask for the new ones.
Optuna's rounds run in this process, with no RPC or disk; hpo's include gRPC, syncing the
listed trials and a durable commit.

    bench/katib_round.py [--server bazel-bin/server/hpo-server] [--trials 1000]
        [--rounds 30] [--parallel 3] [--out bench/results/katib_round.json]

Katib's messages come from third_party/katib/api.pb (the descriptor the server is
built from; client_stubs/python/tests/test_katib.py checks it against the wheel).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ROOT = Path(__file__).resolve().parents[1]


def katib_messages():
    files = descriptor_pb2.FileDescriptorSet.FromString(
        (ROOT / "third_party/katib/api.pb").read_bytes()
    )
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    get = lambda name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
    names = [
        "Experiment", "Trial", "GetSuggestionsRequest", "GetSuggestionsReply",
    ]
    out = {n: get(f"api.v1.beta1.{n}") for n in names}
    enums = pool.FindFileByName("api.proto")
    out["enum"] = {e.name: {v.name: v.number for v in e.values} for e in enums.enum_types_by_name.values()}
    cond = pool.FindEnumTypeByName("api.v1.beta1.TrialStatus.TrialConditionType")
    out["condition"] = {v.name: v.number for v in cond.values}
    return out


# A 6-parameter space of every kind, minimized.
SPACE = [
    ("x1", "DOUBLE", {"min": "0", "max": "1"}),
    ("x2", "DOUBLE", {"min": "0", "max": "1"}),
    ("x3", "DOUBLE", {"min": "0", "max": "1"}),
    ("lr", "DOUBLE", {"min": "0.0001", "max": "1", "distribution": "LOG_UNIFORM"}),
    ("units", "INT", {"min": "1", "max": "64"}),
    ("act", "CATEGORICAL", ["relu", "tanh", "gelu"]),
]


def objective(p: dict) -> float:
    v = sum((float(p[k]) - c) ** 2 for k, c in (("x1", 0.3), ("x2", 0.6), ("x3", 0.1)))
    v += (math.log10(float(p["lr"])) + 2.5) ** 2 / 4
    v += abs(math.log2(int(p["units"])) - 4) / 6
    v += {"relu": 0.0, "tanh": 0.05, "gelu": 0.02}[p["act"]]
    return round(v, 9)


def experiment(m, parallel: int, total: int):
    e = m["Experiment"](name="bench-katib")
    enum = m["enum"]
    for name, ptype, space in SPACE:
        p = e.spec.parameter_specs.parameters.add(
            name=name, parameter_type=enum["ParameterType"][ptype]
        )
        if isinstance(space, dict):
            p.feasible_space.min = space["min"]
            p.feasible_space.max = space["max"]
            if "distribution" in space:
                p.feasible_space.distribution = enum["Distribution"][space["distribution"]]
        else:
            p.feasible_space.list.extend(space)
    e.spec.objective.type = enum["ObjectiveType"]["MINIMIZE"]
    e.spec.objective.objective_metric_name = "loss"
    e.spec.algorithm.algorithm_name = "tpe"
    e.spec.algorithm.algorithm_settings.add(name="random_state", value="0")
    e.spec.parallel_trial_count = parallel
    e.spec.max_trial_count = total
    return e


def proc_status(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # MiB
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    out["cpu_seconds"] = (int(fields[11]) + int(fields[12])) / ticks
    return out


class Katib:
    def __init__(self, m, address: str):
        self.m = m
        self.channel = grpc.insecure_channel(address)
        self.call = self.channel.unary_unary(
            "/api.v1.beta1.Suggestion/GetSuggestions",
            request_serializer=m["GetSuggestionsRequest"].SerializeToString,
            response_deserializer=m["GetSuggestionsReply"].FromString,
        )
        self.trials = []
        self.requests = 0

    def round(self, exp, n: int):
        """Finishes the running trials, then asks for n: Katib's controller's round.
        Returns the seconds GetSuggestions took and the finished trials."""
        m = self.m
        finished = []
        for t in self.trials:
            if t.status.condition == m["condition"]["RUNNING"]:
                p = {a.name: a.value for a in t.spec.parameter_assignments.assignments}
                value = objective(p)
                t.status.condition = m["condition"]["SUCCEEDED"]
                t.status.observation.metrics.add(name="loss", value=repr(value))
                finished.append((p, value))
        self.requests += n
        request = m["GetSuggestionsRequest"](
            experiment=exp, trials=self.trials, current_request_number=n,
            total_request_number=self.requests,
        )
        start = time.perf_counter()
        reply = self.call(request, timeout=60)
        took = time.perf_counter() - start
        assert len(reply.parameter_assignments) == n
        for a in reply.parameter_assignments:
            t = m["Trial"](name=a.trial_name)
            t.spec.parameter_assignments.assignments.extend(a.assignments)
            t.status.condition = m["condition"]["RUNNING"]
            self.trials.append(t)
        return took, finished


def optuna_rounds(history, rounds: int, parallel: int):
    """Optuna's TPE on the same history: per round, tell the running trials' values and
    ask for `parallel` new ones, timed."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {
        "x1": FloatDistribution(0, 1), "x2": FloatDistribution(0, 1),
        "x3": FloatDistribution(0, 1), "lr": FloatDistribution(1e-4, 1, log=True),
        "units": IntDistribution(1, 64), "act": CategoricalDistribution(["relu", "tanh", "gelu"]),
    }

    def typed(p):
        return {k: (p[k] if k == "act" else int(p[k]) if k == "units" else float(p[k])) for k in dists}

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
    study.add_trials([
        optuna.trial.create_trial(params=typed(p), distributions=dists, value=v) for p, v in history
    ])
    running = []
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for trial in running:
            study.tell(trial, objective({k: str(v) for k, v in trial.params.items()}))
        running = []
        for _ in range(parallel):
            trial = study.ask(dists)
            running.append(trial)
        times.append(time.perf_counter() - start)
    return times, optuna.__version__


def summary(times):
    s = sorted(times)
    return {
        "median_ms": round(statistics.median(s) * 1000, 2),
        "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))] * 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=str(ROOT / "bazel-bin/server/hpo-server"))
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    m = katib_messages()
    exp = experiment(m, args.parallel, args.trials + args.parallel * (args.rounds + 2))
    with tempfile.TemporaryDirectory(prefix="hpo-katib-bench-") as d:
        log = Path(d) / "log"
        proc = subprocess.Popen(
            [args.server, "--host=127.0.0.1", "--grpc_port=0", "--http=false",
             "--katib_port=0", f"--port_file={d}/port", f"--db={d}/hpo.db"],
            stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not (Path(d) / "port").exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"hpo-server did not start: {log.read_text()}")
                time.sleep(0.02)
            port = re.findall(r"Katib suggestion API listening on \S+:(\d+)", log.read_text())[-1]
            katib = Katib(m, f"127.0.0.1:{port}")
            started = proc_status(proc.pid)
            fill_start = time.perf_counter()
            history = []
            while len(katib.trials) < args.trials:
                _, done = katib.round(exp, args.parallel)
                history += done
            fill_seconds = time.perf_counter() - fill_start
            filled = proc_status(proc.pid)
            times = []
            for _ in range(args.rounds):
                took, done = katib.round(exp, args.parallel)
                history += done
                times.append(took)
            measured = proc_status(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    # Optuna gets the history hpo had when its timed rounds began.
    base = history[: args.trials - args.parallel]
    optuna_times, optuna_version = optuna_rounds(base, args.rounds, args.parallel)
    fill_rounds = math.ceil(args.trials / args.parallel)
    result = {
        "trials": args.trials,
        "parallel": args.parallel,
        "rounds": args.rounds,
        "hpo_tpe_round": summary(times),
        "optuna_tpe_round": summary(optuna_times),
        "optuna_version": optuna_version,
        "hpo_rss_mib_after_start": round(started["VmRSS"], 1),
        "hpo_rss_mib_at_trials": round(measured["VmRSS"], 1),
        "hpo_peak_rss_mib": round(measured["VmHWM"], 1),
        "hpo_cpu_seconds_filling": round(filled["cpu_seconds"] - started["cpu_seconds"], 2),
        "fill_seconds": round(fill_seconds, 2),
        "fill_rounds": fill_rounds,
        "hpo_cpu_ms_per_round": round(
            (filled["cpu_seconds"] - started["cpu_seconds"]) / fill_rounds * 1000, 2
        ),
    }
    print(
        f"katib GetSuggestions round at {args.trials} trials ({args.parallel} new, tpe): "
        f"hpo median {result['hpo_tpe_round']['median_ms']} ms "
        f"(p90 {result['hpo_tpe_round']['p90_ms']}), "
        f"optuna {optuna_version} TPE tell+ask median {result['optuna_tpe_round']['median_ms']} ms "
        f"(p90 {result['optuna_tpe_round']['p90_ms']}); "
        f"hpo-server RSS {result['hpo_rss_mib_at_trials']} MiB (peak {result['hpo_peak_rss_mib']}), "
        f"{result['hpo_cpu_ms_per_round']} ms CPU per round over {fill_rounds} rounds"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
