#!/usr/bin/env python3
"""Checks bench/problems.py against the shared test vectors that the C++
problems wrote (bench/testdata/problem_vectors.json; bench:problems_test checks
the C++ side against the same file): same problems, same spaces (compared as
hpo.v1.Parameter messages), same optima, same values to 1e-9 (relative above
1). Prints "N passed, N failed"; exits non-zero on any failure."""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import problems  # noqa: E402


def tolerance(v: float) -> float:
    return 1e-9 * max(1.0, abs(v))


def main() -> int:
    with open(os.path.join(HERE, "testdata", "problem_vectors.json")) as f:
        vectors = json.load(f)["problems"]
    try:
        from google.protobuf import json_format
        from grpc_driver import stubs
        pb2, _ = stubs()
    except Exception as e:  # noqa: BLE001
        print(f"check_vectors: cannot compare spaces as messages ({e}); comparing dicts")
        pb2 = None

    def same_param(a: dict, b: dict) -> bool:
        if pb2 is None:
            return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
        return json_format.ParseDict(a, pb2.Parameter()) == json_format.ParseDict(b, pb2.Parameter())

    passed = failed = 0

    def check(ok: bool, what: str):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL:", what)

    py = {p.name: p for p in problems.SYNTHETIC}
    check(sorted(py) == sorted(v["name"] for v in vectors),
          f"problem names: python {sorted(py)} vs vectors {sorted(v['name'] for v in vectors)}")
    for v in vectors:
        p = py.get(v["name"])
        if p is None:
            check(False, f"{v['name']}: missing in problems.py")
            continue
        check(abs(p.optimum - v["optimum"]) <= 1e-12,
              f"{p.name}: optimum {p.optimum} vs {v['optimum']}")
        check(len(p.parameters) == len(v["parameters"]),
              f"{p.name}: {len(p.parameters)} parameters vs {len(v['parameters'])}")
        for a, b in zip(p.parameters, v["parameters"]):
            check(same_param(a, b), f"{p.name}: parameter {a} vs {b}")
        for point in v["points"]:
            params = problems.typed(p.parameters, point["params"])
            got = p.evaluate(params)
            check(abs(got - point["value"]) <= tolerance(point["value"]),
                  f"{p.name} at {point['params']}: python {got!r} vs vectors {point['value']!r}")
    print(f"check_vectors: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
