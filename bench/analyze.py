#!/usr/bin/env python3
"""Summarizes benchmark traces: per problem and budget the median final
regret of every method, every method's mean rank, Wilcoxon signed-rank
p-values of each hpo method against each peer, convergence plots, and a
markdown table written into bench/README.md between the results markers.

  python bench/analyze.py --traces=bench/results/traces --out=bench/results \\
      --budgets=50,100,200 [--readme=bench/README.md --title="..."]

Regret at budget B: the true value of the incumbent (the trial with the
lowest observed value among the first B) minus the problem's optimum; for
problems with no known optimum (live training), minus the lowest true value
any run of any method reached. A run's regret at B comes from its trace of
budget B, or from a longer trace of a method that does not know its budget
(prefix_valid). A grid that finished early keeps its last regret. Methods
that refused a problem's space are left out of that problem.
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime
import json
import math
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from traces import read_traces  # noqa: E402

BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"


def incumbent_true(t: dict) -> list:
    return t.get("incumbent_true") or t["best"]


def regret_at(t: dict, budget: int, optimum: float):
    it = incumbent_true(t)
    if not it:
        return None
    n = min(budget, len(it))
    if len(it) < budget and t["status"] != "exhausted":
        return None  # too short, and not because the space ran out
    return it[n - 1] - optimum


def select_runs(traces: list[dict], budgets: list[int]):
    """{(problem, budget): {method: {seed: trace}}} and the optima."""
    by_key = collections.defaultdict(list)
    optimum = {}
    empirical = {}
    for t in traces:
        by_key[(t["problem"], t["method"], t["seed"])].append(t)
        if t.get("optimum") is not None:
            optimum[t["problem"]] = t["optimum"]
        for v in incumbent_true(t):
            if v is not None:
                empirical[t["problem"]] = min(empirical.get(t["problem"], math.inf), v)
    for p, v in empirical.items():
        optimum.setdefault(p, v)
    runs = collections.defaultdict(lambda: collections.defaultdict(dict))
    unsupported = collections.defaultdict(set)
    for (problem, method, seed), ts in by_key.items():
        for b in budgets:
            exact = [t for t in ts if t["budget"] == b]
            longer = sorted((t for t in ts if t.get("prefix_valid") and t["budget"] >= b),
                            key=lambda t: t["budget"])
            chosen = (exact or longer or [None])[0]
            if chosen is None:
                continue
            if chosen["status"] == "unsupported":
                unsupported[(problem, b)].add(method)
                continue
            if chosen["status"] == "error":
                continue
            r = regret_at(chosen, b, optimum[problem])
            if r is not None:
                runs[(problem, b)][method][seed] = (r, chosen)
    return runs, optimum, unsupported


def ranks(values: list[float]) -> list[float]:
    """Average ranks (1 = best), ties shared."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2) if n else math.nan


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return math.nan
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def wilcoxon_p(a: list[float], b: list[float]):
    from scipy.stats import wilcoxon
    diffs = [x - y for x, y in zip(a, b)]
    if len(diffs) < 2 or all(d == 0 for d in diffs):
        return None
    try:
        return float(wilcoxon(a, b, zero_method="zsplit").pvalue)
    except ValueError:
        return None


def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 1000 or abs(x) < 1e-3:
        return f"{x:.2e}"
    return f"{x:.3g}"


def merge_aliases(traces):
    """Methods whose every run equals another method's (a registry alias such
    as hpo's optuna_tpe for tpe, or Optuna 5's tpe-mv for its default tpe) are
    folded into the first name; returns the traces left and {kept: [aliases]}.
    Only runs of 20 trials or more count: shorter ones are often all startup
    (random) trials, the same for many methods."""
    sig = collections.defaultdict(dict)
    for t in traces:
        sig[t["method"]][(t["problem"], t["seed"], t["budget"])] = (t["status"], tuple(t["values"]))
    # Prefer the shorter, then alphabetically first, name.
    names = sorted(sig, key=lambda m: (len(m), m))
    aliases = collections.defaultdict(list)
    alias_of = {}
    for i, a in enumerate(names):
        if a in alias_of:
            continue
        for b in names[i + 1:]:
            if (b not in alias_of and sig[b] == sig[a]
                    and all(len(v[1]) >= 20 for v in sig[a].values() if v[0] != "unsupported")):
                alias_of[b] = a
                aliases[a].append(b)
    return [t for t in traces if t["method"] not in alias_of], dict(aliases)


def analyze(traces, budgets):
    traces, aliases = merge_aliases(traces)
    runs, optimum, unsupported = select_runs(traces, budgets)
    problems = sorted({p for p, _ in runs})
    methods = sorted({m for v in runs.values() for m in v})
    hpo_methods = [m for m in methods if m.startswith("hpo/")]
    peers = [m for m in methods if not m.startswith("hpo/")]
    rows = []  # per problem, budget, method
    rank_acc = collections.defaultdict(list)  # (budget, method) -> ranks
    tests = []
    for (problem, b), by_method in sorted(runs.items()):
        present = sorted(by_method)
        for m in present:
            rs = [r for r, _ in by_method[m].values()]
            secs = [s for _, t in by_method[m].values() for s in t["suggest_seconds"][:b]]
            rows.append({
                "problem": problem, "budget": b, "method": m, "runs": len(rs),
                "median_regret": median(rs), "q25_regret": quantile(rs, 0.25),
                "q75_regret": quantile(rs, 0.75),
                "mean_suggest_ms": 1000 * sum(secs) / len(secs) if secs else math.nan,
            })
        # Ranks over the seeds every present method has.
        common = set.intersection(*(set(by_method[m]) for m in present)) if present else set()
        for seed in sorted(common):
            rk = ranks([by_method[m][seed][0] for m in present])
            for m, r in zip(present, rk):
                rank_acc[(b, m)].append(r)
        for h in hpo_methods:
            for p in peers:
                if h not in by_method or p not in by_method:
                    continue
                seeds = sorted(set(by_method[h]) & set(by_method[p]))
                a = [by_method[h][s][0] for s in seeds]
                c = [by_method[p][s][0] for s in seeds]
                tests.append({"problem": problem, "budget": b, "hpo": h, "peer": p,
                              "n": len(seeds), "hpo_median": median(a), "peer_median": median(c),
                              "p_value": wilcoxon_p(a, c)})
    mean_rank = {k: sum(v) / len(v) for k, v in rank_acc.items()}
    return {"problems": problems, "methods": methods, "hpo_methods": hpo_methods,
            "peers": peers, "rows": rows, "mean_rank": mean_rank, "tests": tests,
            "optimum": optimum, "runs": runs, "aliases": aliases,
            "unsupported": {f"{p}@{b}": sorted(ms) for (p, b), ms in unsupported.items()}}


def plot(result, traces, out_dir, budget):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = result["runs"]
    written = []
    for problem in result["problems"]:
        by_method = runs.get((problem, budget))
        if not by_method:
            continue
        opt = result["optimum"][problem]
        fig, ax = plt.subplots(figsize=(9.5, 4.8))
        palette = plt.get_cmap("tab20").colors
        for index, m in enumerate(sorted(by_method)):
            curves = []
            for _, t in by_method[m].values():
                it = incumbent_true(t)[:budget]
                if not it:
                    continue
                it = it + [it[-1]] * (budget - len(it))
                curves.append([max(v - opt, 1e-8) for v in it])
            if not curves:
                continue
            xs = list(range(1, budget + 1))
            med = [median([c[i] for c in curves]) for i in range(budget)]
            lo = [quantile([c[i] for c in curves], 0.25) for i in range(budget)]
            hi = [quantile([c[i] for c in curves], 0.75) for i in range(budget)]
            style = "-" if m.startswith("hpo/") else "--"
            line, = ax.plot(xs, med, style, label=f"{m} ({len(curves)})", linewidth=1.5,
                            color=palette[(2 * index) % 20 + (index * 2 // 20) % 2])
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.12)
        ax.set_yscale("log")
        ax.set_xlabel("trial")
        ax.set_ylabel("regret of the incumbent (median, IQR; floor 1e-8)")
        ax.set_title(f"{problem}, budget {budget}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        path = os.path.join(out_dir, f"convergence_{problem}_b{budget}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def markdown(result, budgets, title, speed=None, note=""):
    lines = []
    if title:
        lines += [f"### {title}", ""]
    if note:
        lines += [note, ""]
    methods = result["methods"]
    for b in budgets:
        probs = [p for p in result["problems"] if (p, b) in result["runs"]]
        if not probs:
            continue
        lines += [f"#### Budget {b}: median final regret (lower is better; bold = best median)", ""]
        lines.append("| problem | " + " | ".join(methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        for p in probs:
            by = {r["method"]: r for r in result["rows"] if r["problem"] == p and r["budget"] == b}
            meds = [by[m]["median_regret"] for m in methods if m in by]
            best = min(meds) if meds else None
            cells = []
            for m in methods:
                if m in by:
                    v = by[m]["median_regret"]
                    s = fmt(v)
                    cells.append(f"**{s}**" if v == best else s)
                elif m in result["unsupported"].get(f"{p}@{b}", []):
                    cells.append("n/a")
                else:
                    cells.append("")
            n = max((by[m]["runs"] for m in by), default=0)
            lines.append(f"| {p} ({n} seeds) | " + " | ".join(cells) + " |")
        ranks_b = {m: result["mean_rank"].get((b, m)) for m in methods}
        lines.append("| **mean rank** | " + " | ".join(
            fmt(ranks_b[m]) if ranks_b[m] is not None else "" for m in methods) + " |")
        lines.append("")
        lines.append("Mean rank: 1 = best, among the methods that ran on a problem, per seed they "
                     "all share, averaged over the problems where the method ran (n/a: the "
                     "sampler refused the space or, for grid, no grid fits the budget).")
        lines.append("")
        # Wilcoxon summary: per hpo method and peer, problems where hpo is
        # significantly better / worse (p < 0.05, by median direction).
        tests = [t for t in result["tests"] if t["budget"] == b]
        if tests and result["hpo_methods"] and result["peers"]:
            lines += [f"Wilcoxon signed-rank (paired by seed, two-sided, p < 0.05) at budget {b}: "
                      "problems where the hpo method is significantly better / worse / neither."]
            if max(t["n"] for t in tests) < 6:
                lines.append("With fewer than 6 paired seeds no two-sided p-value can fall below "
                             "0.05, so this table can show no difference yet.")
            lines.append("")
            lines.append("| hpo \\ peer | " + " | ".join(result["peers"]) + " |")
            lines.append("|---|" + "---|" * len(result["peers"]))
            for h in result["hpo_methods"]:
                cells = []
                for peer in result["peers"]:
                    ts = [t for t in tests if t["hpo"] == h and t["peer"] == peer]
                    w = sum(1 for t in ts if t["p_value"] is not None and t["p_value"] < 0.05
                            and t["hpo_median"] < t["peer_median"])
                    l = sum(1 for t in ts if t["p_value"] is not None and t["p_value"] < 0.05
                            and t["hpo_median"] > t["peer_median"])
                    cells.append(f"{w} / {l} / {len(ts) - w - l}" if ts else "")
                lines.append(f"| {h} | " + " | ".join(cells) + " |")
            lines.append("")
    if result["aliases"]:
        lines.append("Same trials as the method named (left out above): " + "; ".join(
            f"{', '.join(v)} = {k}" for k, v in sorted(result["aliases"].items())) + ".")
        lines.append("")
    if speed:
        lines += speed_markdown(speed["rows"], speed.get("generated", ""),
                                speed.get("machine", ""))
    return "\n".join(lines)


def speed_markdown(rows, generated="", machine=""):
    lines = ["#### Time per suggestion (ms, median)", ""]
    if generated or machine:
        lines += [f"Measured {generated} on {machine}. The last column is the peer's "
                  "time over hpo's in-process time.", ""]
    keyed = collections.defaultdict(dict)
    columns = []
    for r in rows:
        if r.get("status") != "ok" or r.get("ms_median") is None:
            continue
        col = f"{r['library']} {r['sampler']} ({r['transport']})"
        if col not in columns:
            columns.append(col)
        keyed[(r["dims"], r["trials"], r.get("group", r["sampler"]))][col] = r["ms_median"]
    groups = sorted({k[2] for k in keyed})
    for g in groups:
        cols = [c for c in columns if any(c in keyed[k] for k in keyed if k[2] == g)]
        ours = next((c for c in cols if c.startswith("hpo ") and c.endswith("(in-process)")), None)
        peer = next((c for c in cols if not c.startswith("hpo ")), None)
        ratio = ours is not None and peer is not None
        lines.append(f"{g}:")
        lines.append("")
        lines.append("| dims | trials | " + " | ".join(cols) + (" | ratio |" if ratio else " |"))
        lines.append("|---|---|" + "---|" * (len(cols) + ratio))
        for (d, n, gg) in sorted(k for k in keyed if k[2] == g):
            row = keyed[(d, n, gg)]
            cells = [fmt(row.get(c)) for c in cols]
            if ratio:
                a, b = row.get(peer), row.get(ours)
                cells.append(f"{a / b:.3g}x" if a and b else "")
            lines.append(f"| {d} | {n} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def write_readme(readme, text):
    with open(readme) as f:
        content = f.read()
    if BEGIN not in content or END not in content:
        raise SystemExit(f"{readme}: markers {BEGIN} / {END} not found")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(readme, "w") as f:
        f.write(head + BEGIN + "\n" + text.rstrip() + "\n" + END + tail)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", action="append", required=True,
                    help="a directory of .jsonl traces (may repeat)")
    ap.add_argument("--out", required=True, help="where summary.json/.csv and PNGs go")
    ap.add_argument("--budgets", default="50,100,200")
    ap.add_argument("--speed", default="", help="speed results (speed.py's JSON) to tabulate")
    ap.add_argument("--readme", default="", help="write the markdown between the markers here")
    ap.add_argument("--title", default="")
    ap.add_argument("--note", default="", help="a paragraph under the title")
    ap.add_argument("--no_plots", action="store_true")
    args = ap.parse_args(argv)

    traces = []
    for d in args.traces:
        traces.extend(read_traces(d))
    if not traces:
        raise SystemExit("no traces found")
    budgets = sorted({int(b) for b in args.budgets.split(",") if b.strip()})
    result = analyze(traces, budgets)
    os.makedirs(args.out, exist_ok=True)

    with open(os.path.join(args.out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["problem", "budget", "method", "runs", "median_regret",
                                          "q25_regret", "q75_regret", "mean_suggest_ms"])
        w.writeheader()
        for r in result["rows"]:
            w.writerow(r)
    with open(os.path.join(args.out, "wilcoxon.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["problem", "budget", "hpo", "peer", "n",
                                          "hpo_median", "peer_median", "p_value"])
        w.writeheader()
        for t in result["tests"]:
            w.writerow(t)
    summary = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.platform()}, {os.cpu_count()} cores",
        "budgets": budgets, "methods": result["methods"], "problems": result["problems"],
        "optimum": result["optimum"],
        "rows": result["rows"],
        "mean_rank": [{"budget": b, "method": m, "mean_rank": v}
                      for (b, m), v in sorted(result["mean_rank"].items())],
        "wilcoxon": result["tests"], "unsupported": result["unsupported"],
        "aliases": result["aliases"],
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=lambda x: None)

    written = []
    if not args.no_plots:
        for b in budgets:
            written += plot(result, traces, args.out, b)
    speed = None
    if args.speed and os.path.exists(args.speed):
        with open(args.speed) as f:
            speed = json.load(f)
    text = markdown(result, budgets, args.title, speed, args.note)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")
    if args.readme:
        write_readme(args.readme, text)
    print(text)
    print(f"\nanalyze: {len(traces)} traces; wrote summary.json, summary.csv, wilcoxon.csv, "
          f"results.md and {len(written)} plots to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
