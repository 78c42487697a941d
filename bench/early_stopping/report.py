"""Tables for the early-stopping benchmark: results.json and results.md.

Per problem and arm, over seeds: total steps (median), steps relative to no
stopping in the same system (median of the per-seed ratios), final best value
(median) and the test error / noise-free value of the trial it picked, the
Wilcoxon signed-rank p-value (two-sided, paired by seed) of the final best
against the same system's no-stopping arm and against Optuna's matching
pruner, and the steps relative to that pruner (ratio of the medians).

Target (issue #5), for each hpo rule: no significant loss of final best
against no stopping (p >= 0.05, or better), at most half its steps, and no
more steps than Optuna's matching pruner. A loss is p < 0.05 with the paired
differences leaning worse (their signed ranks summing above 0), whatever
their median: many seeds tie exactly on the small validation sets, so a
median difference of 0 can hide a consistent loss. The target is given twice:
judged by the best validation value (what the run reports as its best), and
by truth, the held-out test error or noise-free value of the trial it picked.
The best of 40 completed noisy values is lower than the best of 10 by chance
alone, so the first verdict counts part of that luck as a loss of stopping;
truth does not.
"""

from __future__ import annotations

import json
import os
import statistics
import warnings

ALPHA = 0.05

# Optuna's pruner that does what an hpo rule does; curve_fitting has none.
MATCH = {"hpo/none": "optuna/nop", "hpo/median": "optuna/median",
         "hpo/percentile": "optuna/percentile", "hpo/asha": "optuna/successive_halving",
         "hpo/successive_halving": "optuna/successive_halving",
         "hpo/hyperband": "optuna/hyperband", "hpo/curve_fitting": None}


ARM_ORDER = list(MATCH) + ["optuna/nop", "optuna/median", "optuna/percentile",
                           "optuna/successive_halving", "optuna/hyperband"]


def _order(arm):
    return ARM_ORDER.index(arm) if arm in ARM_ORDER else len(ARM_ORDER)


def baseline(arm):
    return "hpo/none" if arm.startswith("hpo/") else "optuna/nop"


def paired_differences(a, b):
    """a - b pair by pair, pairs with a None left out."""
    return [x - y for x, y in zip(a, b) if x is not None and y is not None]


def wilcoxon(a, b):
    """Two-sided p of paired samples (None values and their pairs left out)."""
    d = paired_differences(a, b)
    if not d:
        return None
    if all(v == 0 for v in d):
        return 1.0
    from scipy.stats import wilcoxon as test
    with warnings.catch_warnings():  # ties and zeros: scipy falls back to the normal approximation
        warnings.simplefilter("ignore")
        return float(test(d).pvalue)


def leans_worse(a, b):
    """Whether the paired differences a - b (None pairs left out) have a
    positive signed-rank sum: the side the Wilcoxon test's verdict is on."""
    d = [v for v in paired_differences(a, b) if v != 0]
    if not d:
        return False
    from scipy.stats import rankdata
    ranks = rankdata([abs(v) for v in d])
    return bool(sum(r if v > 0 else -r for r, v in zip(ranks, d)) > 0)


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _delta(a, b):
    return _median(paired_differences(a, b))


def table(rows):
    """One entry per (problem, arm) present, in the arms' listed order."""
    by = {}
    for r in rows:
        by.setdefault((r["problem"], r["arm"]), {})[r["seed"]] = r
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    arms = sorted(dict.fromkeys(r["arm"] for r in rows), key=_order)
    out = []
    for problem in problems:
        for arm in arms:
            runs = by.get((problem, arm))
            if not runs:
                continue
            seeds = sorted(runs)

            def col(other, key):
                runs_o = by.get((problem, other), {})
                return [runs_o[s][key] if s in runs_o else None for s in seeds]

            steps = [runs[s]["steps"] for s in seeds]
            best = [runs[s]["best"] for s in seeds]
            truth = [runs[s]["best_truth"] for s in seeds]
            e = {"problem": problem, "arm": arm, "seeds": len(seeds),
                 "steps": _median(steps), "pruned": _median([runs[s]["pruned"] for s in seeds]),
                 "best": _median(best), "best_truth": _median(truth)}
            base = baseline(arm)
            if (problem, base) in by:
                ratios = [s / b for s, b in zip(steps, col(base, "steps")) if b]
                e["steps_vs_none"] = _median(ratios)
                e["delta_vs_none"] = _delta(best, col(base, "best"))
                e["p_vs_none"] = wilcoxon(best, col(base, "best"))
                e["worse_than_none"] = leans_worse(best, col(base, "best"))
                e["truth_delta_vs_none"] = _delta(truth, col(base, "best_truth"))
                e["truth_p_vs_none"] = wilcoxon(truth, col(base, "best_truth"))
                e["truth_worse_than_none"] = leans_worse(truth, col(base, "best_truth"))
            match = MATCH.get(arm)
            if match and (problem, match) in by:
                e["vs"] = match
                e["steps_vs_optuna"] = e["steps"] / _median(col(match, "steps"))
                e["steps_p_vs_optuna"] = wilcoxon(steps, col(match, "steps"))
                e["delta_vs_optuna"] = _delta(best, col(match, "best"))
                e["p_vs_optuna"] = wilcoxon(best, col(match, "best"))
            e["target"] = verdict(e)
            e["target_by_truth"] = verdict(e, "truth_")
            out.append(e)
    return out


def verdict(e, quality=""):
    """'met', or what is missing, for an arm that stops trials; quality "" judges
    the best validation value, "truth_" the picked trial's truth."""
    if e["arm"] in ("hpo/none", "optuna/nop") or "steps_vs_none" not in e:
        return ""
    gaps = []
    p = e[quality + "p_vs_none"]
    if p is not None and p < ALPHA and e[quality + "worse_than_none"]:
        what = "truth" if quality else "best"
        shown = _p(p)
        gaps.append(f"worse than no stopping (Δ{what} {e[quality + 'delta_vs_none']:+.4f}, "
                    f"p{shown if shown.startswith('<') else '=' + shown})")
    if e["steps_vs_none"] > 0.5:
        gaps.append(f"{1 / e['steps_vs_none']:.2f}x fewer steps, not 2x")
    if e.get("steps_vs_optuna") is not None and e["steps_vs_optuna"] > 1:
        gaps.append(f"{e['steps_vs_optuna']:.2f}x Optuna's steps")
    return "; ".join(gaps) or "met"


def _p(x):
    """A p-value for a table: three decimals, or "<0.001"."""
    return "–" if x is None else "<0.001" if x < 0.0005 else f"{x:.3f}"


def _f(x, fmt):
    return "–" if x is None else format(x, fmt)


def _grid(entries, arms, problems, fmt):
    cell = {(e["problem"], e["arm"]): e for e in entries}
    lines = ["| arm | " + " | ".join(problems) + " |", "|---" * (len(problems) + 1) + "|"]
    for arm in arms:
        lines.append(f"| {arm} | " + " | ".join(
            fmt(cell[(p, arm)]) if (p, arm) in cell else "–" for p in problems) + " |")
    return lines


def markdown(entries, config):
    problems = list(dict.fromkeys(e["problem"] for e in entries))
    arms = list(dict.fromkeys(e["arm"] for e in entries))
    stopping = [a for a in arms if a not in ("hpo/none", "optuna/nop")]
    lines = ["# Early stopping: results\n", f"`{config['command']}`\n",
             f"{config['trials']} trials of {config['epochs']} epochs per run, sampler "
             f"`{config['sampler']}` on both sides, seeds {config['seeds']}. Medians over seeds. "
             "Steps: epochs trained. Best: best final validation error (or curve value) of a "
             "trial run to the end; truth: that trial's test error (real problems) or "
             "noise-free final value (synthetic). Δ: median paired difference (negative is "
             "better); p: Wilcoxon signed-rank, two-sided, paired by seed.\n",
             "## Steps / no stopping, and Δbest vs no stopping (p)\n"]
    lines += _grid(entries, stopping, problems, lambda e: (
        f"{e['steps_vs_none']:.2f}, {_f(e['delta_vs_none'], '+.4f')} "
        f"({_p(e['p_vs_none'])})" if "steps_vs_none" in e else "–"))
    lines += ["\n## hpo vs Optuna's matching pruner: steps ratio (p), Δbest (p)\n"]
    lines += _grid(entries, [a for a in arms if MATCH.get(a)], problems, lambda e: (
        f"{e['steps_vs_optuna']:.2f} ({_p(e['steps_p_vs_optuna'])}), "
        f"{_f(e['delta_vs_optuna'], '+.4f')} ({_p(e['p_vs_optuna'])})"
        if "vs" in e else "–"))
    lines += ["\n## Target: no significant loss vs no stopping, >= 2x fewer steps, "
              "<= Optuna's steps\n"]
    lines += _grid(entries, stopping, problems, lambda e: e["target"] or "–")
    lines += ["\n## The same target, quality judged by truth (the picked trial's test error "
              "or noise-free value)\n"]
    lines += _grid(entries, stopping, problems, lambda e: e["target_by_truth"] or "–")
    for p in problems:
        lines += [f"\n## {p}\n",
                  "| arm | steps | steps / none | pruned | best | truth | Δbest vs none (p) | "
                  "Δtruth vs none (p) | steps / Optuna (p) | Δbest vs Optuna (p) |",
                  "|---|---:|---:|---:|---:|---:|---|---|---|---|"]
        for arm in arms:
            e = next((x for x in entries if x["problem"] == p and x["arm"] == arm), None)
            if not e:
                continue
            has_none = "steps_vs_none" in e
            lines.append(" | ".join([
                f"| {arm}", _f(e["steps"], ".0f"), _f(e.get("steps_vs_none"), ".2f"),
                _f(e["pruned"], ".0f"), _f(e["best"], ".4f"), _f(e["best_truth"], ".4f"),
                f"{_f(e.get('delta_vs_none'), '+.4f')} ({_p(e.get('p_vs_none'))})"
                if has_none else "–",
                f"{_f(e.get('truth_delta_vs_none'), '+.4f')} "
                f"({_p(e.get('truth_p_vs_none'))})" if has_none else "–",
                f"{e['steps_vs_optuna']:.2f} ({_p(e['steps_p_vs_optuna'])})"
                if "vs" in e else "–",
                f"{_f(e['delta_vs_optuna'], '+.4f')} ({_p(e['p_vs_optuna'])}) "
                f"vs {e['vs']}" if "vs" in e else "–"]) + " |")
    return "\n".join(lines) + "\n"


def summary(entries):
    """The tables bench/early_stopping/README.md shows for a sampler: hpo's rules
    (steps / none; Δbest (p); steps / Optuna (p)), Optuna's pruners, and hpo's
    rules against the target, by best and by truth."""
    problems = list(dict.fromkeys(e["problem"] for e in entries))
    arms = list(dict.fromkeys(e["arm"] for e in entries))
    hpo = [a for a in arms if a.startswith("hpo/") and a != "hpo/none"]
    optuna = [a for a in arms if a.startswith("optuna/") and a != "optuna/nop"]

    def cell(e, with_optuna):
        if "steps_vs_none" not in e:
            return "–"
        text = (f"{e['steps_vs_none']:.2f}; {_f(e['delta_vs_none'], '+.4f')} "
                f"({_p(e['p_vs_none'])})")
        if with_optuna:
            text += (f"; {e['steps_vs_optuna']:.2f} ({_p(e['steps_p_vs_optuna'])})"
                     if "vs" in e else "; –")
        return text

    lines = ["Steps / no stopping; Δbest vs no stopping (p); steps / Optuna's matching "
             "pruner (p):\n"]
    lines += _grid(entries, hpo, problems, lambda e: cell(e, True))
    lines += ["\nOptuna, steps / no stopping; Δbest vs no stopping (p):\n"]
    lines += _grid(entries, optuna, problems, lambda e: cell(e, False))
    lines += ["\nTarget, quality judged by the best validation value:\n"]
    lines += _grid(entries, hpo, problems, lambda e: e["target"])
    lines += ["\nTarget, quality judged by truth:\n"]
    lines += _grid(entries, hpo, problems, lambda e: e["target_by_truth"])
    return "\n".join(lines) + "\n"


def write(rows, config, out_dir):
    entries = table(rows)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"config": config, "results": entries}, f, indent=1)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(markdown(entries, config))
    return entries


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Rebuilds results.* from runs.jsonl.")
    ap.add_argument("--out", required=True)
    ap.add_argument("--summary", action="store_true",
                    help="also print the tables README.md shows for this run")
    a = ap.parse_args()
    with open(os.path.join(a.out, "results.json")) as f:
        cfg = json.load(f)["config"]
    with open(os.path.join(a.out, "runs.jsonl")) as f:
        entries = write([json.loads(line) for line in f], cfg, a.out)
    if a.summary:
        print(summary(entries), end="")
