#!/usr/bin/env python3
"""Checks benchmark traces: well-formed, and (with --same_as) that two trace
directories hold the same runs -- hpo in-process (bench:run_hpo) against hpo
over gRPC (run_hpo_grpc.py) must give the same trials for the same seed.
Prints "N passed, N failed".

  python bench/check_traces.py DIR [--expect_methods=a,b] [--same_as=OTHER_DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from traces import read_traces  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--expect_methods", default="")
    ap.add_argument("--expect_problems", default="")
    ap.add_argument("--same_as", default="")
    args = ap.parse_args(argv)
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL:", what)

    traces = read_traces(args.dir)
    check(bool(traces), f"no traces in {args.dir}")
    for t in traces:
        where = f"{t['problem']} {t['method']} seed {t['seed']}"
        check(t["status"] in ("ok", "exhausted", "unsupported"), f"{where}: status {t['status']}: {t['message']}")
        n = t["n_trials"]
        if t["status"] == "ok":
            check(n == t["budget"], f"{where}: {n} trials for budget {t['budget']}")
        if t["status"] == "unsupported":
            check(bool(t["message"]) and n == 0, f"{where}: unsupported without a message")
            continue
        check(len(t["values"]) == len(t["best"]) == len(t["regret"]) == len(t["suggest_seconds"]) == n,
              f"{where}: array lengths")
        check(all(v is not None and math.isfinite(v) for v in t["values"]), f"{where}: non-finite values")
        check(all(b <= v + 0.0 for b, v in zip(t["best"], t["values"])), f"{where}: best above a value")
        check(all(t["best"][i] <= t["best"][i - 1] for i in range(1, n)), f"{where}: best not monotone")
        if t["optimum"] is not None and n:
            check(all(r >= -1e-9 for r in t["regret"]), f"{where}: negative regret")
            check(t["final_regret"] == t["regret"][-1], f"{where}: final_regret")
        check(all(s >= 0 for s in t["suggest_seconds"]), f"{where}: negative time")
    methods = {t["method"] for t in traces}
    problems = {t["problem"] for t in traces}
    for m in filter(None, args.expect_methods.split(",")):
        check(m in methods, f"no traces of {m} (have {sorted(methods)})")
    for p in filter(None, args.expect_problems.split(",")):
        check(p in problems, f"no traces of {p} (have {sorted(problems)})")

    if args.same_as:
        other = {(t["problem"], t["method"], t["seed"], t["budget"]): t for t in read_traces(args.same_as)}
        compared = 0
        for t in traces:
            key = (t["problem"], t["method"], t["seed"], t["budget"])
            o = other.get(key)
            if o is None:
                continue
            compared += 1
            where = f"{key} {t['transport']} vs {o['transport']}"
            check(t["status"] == o["status"] and t["n_trials"] == o["n_trials"],
                  f"{where}: {t['status']}/{t['n_trials']} vs {o['status']}/{o['n_trials']}")
            check(all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(t["values"], o["values"])),
                  f"{where}: different trials")
        check(compared > 0, f"nothing in common between {args.dir} and {args.same_as}")
    print(f"check_traces: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
