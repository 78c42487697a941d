"""The Katib iris example on hpo: 12 trials of LogisticRegression on iris, 3 at a time,
maximizing accuracy, with the same search space as the Katib Experiment
(experiment.yaml). Katib's objective goal (0.99) ends the experiment at the first trial
that reaches it; give --target 0.99 for that, or --from-katib-yaml.

Three worker processes stand in for Katib's three parallel trial pods: each asks the
server for a trial, trains, reports, and asks again until the experiment is done.

    python3 hpo_iris.py --server localhost:50051             # space written in Python
    python3 hpo_iris.py --server localhost:50051 --from-katib-yaml   # or Katib's YAML
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run from a checkout without installing the client (`pip install ./client_stubs/python`
# makes this unnecessary).
sys.path.insert(0, str(HERE.parents[1] / "client_stubs" / "python"))

from hpo_client import Client, choice  # noqa: E402

from train import train  # noqa: E402

# Katib: penalty categorical [l2]; tol [0.001, 0.0001, 0.00001]; C discrete
# [0.01, 0.5, 1.0]; max_iter discrete [3, 5, 10].
SPACE = {
    "penalty": choice(["l2"]),
    "tol": choice([0.001, 0.0001, 0.00001]),
    "C": choice([0.01, 0.5, 1.0]),
    "max_iter": choice([3, 5, 10]),
}


def worker(server: str, name: str, worker_no: int) -> None:
    """One worker process: trials until the experiment hands out no more."""
    exp = Client(server).experiment(name)
    while (trial := exp.next_trial()) is not None:
        with trial:  # heartbeats while training; a crash reports the trial failed
            p = trial.params
            accuracy = train(p["penalty"], float(p["tol"]), p["C"], p["max_iter"])
            trial.report(accuracy=accuracy)
            print(f"worker {worker_no}: trial {trial.number} {p} accuracy={accuracy:.4f}",
                  flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default=os.environ.get("HPO_SERVER", "localhost:50051"))
    parser.add_argument("--name", default="katib-iris")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--target", type=float, default=None,
                        help="stop once a trial reaches this accuracy (Katib's goal: 0.99)")
    parser.add_argument("--from-katib-yaml", action="store_true",
                        help="create the experiment from experiment.yaml (Katib's format, "
                        "goal 0.99 included)")
    args = parser.parse_args()

    client = Client(args.server)
    if args.from_katib_yaml:
        exp = client.import_spec("katib", HERE / "experiment.yaml", name=args.name)
    else:
        exp = client.create_experiment(
            args.name,
            space=SPACE,
            objective="accuracy",
            goal="maximize",
            target=args.target,
            algorithm="random",
            max_trials=12,
            parallel_trials=3,
            max_failed_trials=3,
        )
    print(f"experiment {exp.name}: {len(exp.spec.parameters)} parameters, "
          f"max_trials {exp.spec.max_trials}, parallel_trials {exp.spec.parallel_trials}")

    start = time.monotonic()
    ctx = multiprocessing.get_context("spawn")  # gRPC and fork do not mix
    procs = [ctx.Process(target=worker, args=(args.server, exp.name, i))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        print("a worker failed", file=sys.stderr)
        return 1

    exp.refresh()
    best = exp.best()
    status = exp.spec.status
    print(f"experiment {exp.name} is {exp.state} ({status.message}) after "
          f"{time.monotonic() - start:.1f}s: {status.completed} completed, "
          f"{status.failed} failed")
    if best is None:
        print("no trial completed", file=sys.stderr)
        return 1
    print(f"best: trial {best.number} accuracy={best.value:.4f} {best.params}")
    return 0 if exp.state == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
