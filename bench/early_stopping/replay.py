#!/usr/bin/env python3
"""Do hpo's rules decide like Optuna's pruners on the same trials?

Runs an hpo arm over gRPC (run.py's run_hpo), then gives Optuna the very same
trials in the same order (enqueued) with the matching pruner, and compares, trial
by trial, the step at which each was stopped (30: ran to the end). Rules
that should agree with Optuna decision for decision (median, percentile,
successive_halving) show where they do not; hyperband cannot be compared this
way (the two hash trials into brackets differently).

  python bench/early_stopping/replay.py --server=$(bazel info bazel-bin)/server/hpo-server \\
      --problems=exp_crossing,pow_overfit --seeds=0-4
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run  # noqa: E402  (puts bench/ on the path for grpc_driver)
import curves  # noqa: E402
import grpc_driver  # noqa: E402

PAIRS = {"hpo/median": "optuna/median", "hpo/percentile": "optuna/percentile",
         "hpo/successive_halving": "optuna/successive_halving"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default="exp_crossing,pow_overfit")
    ap.add_argument("--arms", default=",".join(PAIRS))
    ap.add_argument("--sampler", default="tpe", choices=["tpe", "random"])
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--server", default=str(grpc_driver.default_server_binary()))
    args = ap.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="hpo-es-replay-")
    server = grpc_driver.Server(args.server, workdir)
    memo, counter, differ = run.Memo(), 0, 0
    try:
        for name in args.problems.split(","):
            problem = curves.find(name)
            for seed in run.parse_seeds(args.seeds):
                for arm in args.arms.split(","):
                    counter += 1
                    hpo = run.run_hpo(server, problem, arm, args.sampler, seed, args.trials,
                                      memo, counter)
                    optuna = run.run_optuna(problem, PAIRS[arm], "random", seed, args.trials,
                                            memo, enqueue=[t[4] for t in hpo])
                    diff = [(i, h[0], o[0]) for i, (h, o) in enumerate(zip(hpo, optuna))
                            if h[0] != o[0]]
                    differ += bool(diff)
                    print(f"{name} seed {seed} {arm}: steps hpo {sum(t[0] for t in hpo)}, "
                          f"Optuna {sum(t[0] for t in optuna)}; {len(diff)} trials differ"
                          + "".join(f"; trial {i}: hpo {h}, Optuna {o}" for i, h, o in diff[:3]))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"replay: {differ} of {counter} runs differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
