#!/usr/bin/env python3
"""HpoSampler against Optuna's default sampler, in one run: the same Optuna study of
N trials (ask and tell), the time each ask takes and the best value reached.

    python3 bench/optuna_sampler.py                      # 1000 trials, seed 0
    python3 bench/optuna_sampler.py --trials 200 --seeds 0,1

It starts the server binary ($HPO_SERVER_BIN, default bazel-bin/server/hpo-server) on a
free port with a temporary database. The objective is 5 parameters of Optuna's usual
kinds: Branin in (x, y), a log-scale learning rate, a log-scale integer and a
categorical; its minimum is 0.397887.

"ask" is study.ask() plus the trial's suggest_* calls: everything the sampler does
before the objective runs (Optuna's samplers sample at suggest time, HpoSampler at ask
time). "tell" is study.tell() (HpoSampler reports the result to hpo there); "total" the
sum of both over the study. The studies run interleaved, one trial each in turn, so
that the machine's other load weighs on them alike.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "client_stubs/python"))

import optuna  # noqa: E402

from hpo_client.optuna import HpoSampler  # noqa: E402

OPTIMUM = 0.397887


def branin(x: float, y: float) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (y - b * x**2 + c * x - r) ** 2 + s * (1 - t) * math.cos(x) + s


def suggest(trial: optuna.trial.BaseTrial) -> dict:
    return {
        "x": trial.suggest_float("x", -5, 10),
        "y": trial.suggest_float("y", 0, 15),
        "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        "units": trial.suggest_int("units", 1, 256, log=True),
        "opt": trial.suggest_categorical("opt", ["adam", "sgd", "rmsprop"]),
    }


def objective(p: dict) -> float:
    return (
        branin(p["x"], p["y"])
        + 0.1 * (math.log10(p["lr"]) + 3) ** 2
        + 0.1 * math.log2(p["units"] / 32) ** 2
        + {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.6}[p["opt"]]
    )


def run(samplers: dict, trials: int) -> dict:
    """One study per sampler, interleaved trial by trial, so that whatever else the
    machine does slows them alike."""
    studies = {name: optuna.create_study(sampler=s) for name, s in samplers.items()}
    asks = {name: [] for name in samplers}
    tells = {name: [] for name in samplers}
    totals = {name: 0.0 for name in samplers}
    for _ in range(trials):
        for name, study in studies.items():
            t0 = time.perf_counter()
            trial = study.ask()
            params = suggest(trial)
            t1 = time.perf_counter()
            value = objective(params)
            t2 = time.perf_counter()
            study.tell(trial, value)
            t3 = time.perf_counter()
            asks[name].append(t1 - t0)
            tells[name].append(t3 - t2)
            totals[name] += t3 - t0
    out = {}
    for name, study in studies.items():
        values = [t.value for t in study.trials]
        a = asks[name]
        out[name] = {
            "ask_median_ms": 1000 * statistics.median(a),
            "ask_p95_ms": 1000 * sorted(a)[int(0.95 * (len(a) - 1))],
            "ask_last100_ms": 1000 * statistics.mean(a[-100:]),
            "tell_median_ms": 1000 * statistics.median(tells[name]),
            "total_s": totals[name],
            "best": {n: min(values[:n]) for n in (100, 250, 500, trials) if n <= trials},
        }
    return out


def start_server(workdir: Path) -> tuple:
    binary = os.environ.get("HPO_SERVER_BIN") or str(ROOT / "bazel-bin/server/hpo-server")
    port_file = workdir / "port"
    proc = subprocess.Popen(
        [binary, "--host=127.0.0.1", "--grpc_port=0", "--http_port=0",
         f"--port_file={port_file}", f"--db={workdir / 'hpo.db'}", "--log_level=warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return proc, f"127.0.0.1:{int(port_file.read_text())}"
        if proc.poll() is not None:
            raise SystemExit(f"{binary} exited with {proc.returncode}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--algorithms", default="auto", help="hpo algorithms, comma-separated")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpo-bench-optuna-") as d:
        proc, address = start_server(Path(d))
        try:
            for seed in seeds:
                samplers = {"Optuna default (TPESampler)": optuna.samplers.TPESampler(seed=seed)}
                for algo in args.algorithms.split(","):
                    samplers[f"HpoSampler ({algo})"] = HpoSampler(address, algorithm=algo,
                                                                 seed=seed)
                for name, r in run(samplers, args.trials).items():
                    rows.append((name, seed, r))
                    print(f"{name} seed {seed}: {r}", file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    cols = sorted(rows[0][2]["best"])
    print(f"\n{args.trials} trials, optuna {optuna.__version__}, minimum {OPTIMUM}\n")
    print("| sampler | seed | ask median (ms) | ask p95 (ms) | ask, last 100 (ms) | "
          "tell median (ms) | total (s) | " + " | ".join(f"best @{c}" for c in cols) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(cols))
    for name, seed, r in rows:
        print(f"| {name} | {seed} | {r['ask_median_ms']:.2f} | {r['ask_p95_ms']:.2f} | "
              f"{r['ask_last100_ms']:.2f} | {r['tell_median_ms']:.2f} | {r['total_s']:.1f} | "
              + " | ".join(f"{r['best'][c]:.4f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
