"""The trace format shared by every runner (bench/README.md, "Traces").

One JSON object per run, one run per line, in
<out_dir>/<problem>__<method with / replaced by ->.jsonl.
"""

from __future__ import annotations

import json
import math
import os
from typing import Optional

FORMAT = "hpo-bench-trace/1"


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def make_trace(*, problem: str, method: str, library: str, transport: str,
               algorithm: str, settings: dict, seed: int, budget: int,
               prefix_valid: bool, status: str, message: str,
               optimum: Optional[float], values: list, trues: Optional[list],
               seconds: list, params: Optional[list] = None, extra: Optional[dict] = None):
    """`values`: what the optimizer saw; `trues`: the true values of the same
    trials (None: equal to values). `best` is the incumbent's observed value
    (the minimum so far); `regret` the incumbent's true value minus the
    optimum (null without a known optimum)."""
    trues = list(values) if trues is None else list(trues)
    best, regret, incumbent_true = [], [], []
    b = bt = None
    for v, t in zip(values, trues):
        if b is None or v < b:
            b, bt = v, t
        best.append(b)
        incumbent_true.append(bt)
        regret.append(None if optimum is None else bt - optimum)
    trace = {
        "format": FORMAT, "problem": problem, "method": method, "library": library,
        "transport": transport, "algorithm": algorithm,
        "settings": {k: str(v) for k, v in settings.items()},
        "seed": seed, "budget": budget, "prefix_valid": prefix_valid,
        "status": status, "message": message, "optimum": _num(optimum),
        "n_trials": len(values), "values": [_num(v) for v in values],
        "best": [_num(v) for v in best], "regret": [_num(v) for v in regret],
        "final_regret": _num(regret[-1]) if regret else None,
        "suggest_seconds": [float(s) for s in seconds],
        "total_suggest_seconds": float(sum(seconds)),
    }
    if trues != list(values):
        trace["true_values"] = [_num(v) for v in trues]
        trace["incumbent_true"] = [_num(v) for v in incumbent_true]
    if params is not None:
        trace["params"] = params
    if extra:
        trace.update(extra)
    return trace


def trace_path(out_dir: str, problem: str, method: str) -> str:
    return os.path.join(out_dir, f"{problem}__{method.replace('/', '-')}.jsonl")


def read_traces(directory: str) -> list[dict]:
    out = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(directory, name)) as f:
            for line in f:
                line = line.strip()
                if line:
                    t = json.loads(line)
                    if t.get("format") == FORMAT:
                        out.append(t)
    return out
