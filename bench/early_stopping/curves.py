"""Learning-curve problems for the early-stopping benchmark.

Each problem has a search space (hpo.v1.Parameter messages as proto-JSON dicts)
and `start(seed, params)`, which returns a fresh Curve: `next()` trains one
more epoch (or steps a synthetic curve) and returns the validation error after
it; `truth()` is what the chosen trial is finally judged on (test error of the
trained model, or the noise-free value of a synthetic curve at its current
step). Everything is lazy and deterministic in (seed, params): an epoch is
computed only when a trial asks for it, so a stopped trial costs only the
epochs it ran.

- real: scikit-learn models trained with `partial_fit`, one epoch per step, on
  datasets scikit-learn ships, split 60/20/20 into train, validation and test
  (stratified, shuffled by the seed; standardized on the training part); the
  model's random_state is the seed too.
- synthetic: parametric curve families whose asymptote and speed depend on the
  parameters so that curves cross (fast starters end worse) or turn up again
  (overfitting), with Gaussian noise drawn from a generator seeded by the seed
  and the parameters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math

import numpy as np

# bench/problems.py (bench/ is on the path: run.py puts it there): the API's
# parameter specs, and typed(), its values as the problems take them.
from problems import double_param, int_param, typed  # noqa: F401 (typed: for run.py)

EPOCHS = 30


class Problem:
    def __init__(self, name, kind, description, parameters, start):
        self.name, self.kind, self.description = name, kind, description
        self.parameters, self.epochs = parameters, EPOCHS
        self._start = start

    def start(self, seed, params):
        return self._start(seed, params)


# --- real: scikit-learn, epoch by epoch ----------------------------------------

@functools.lru_cache(maxsize=None)
def _split(dataset, seed):
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    x, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed)
    scaler = StandardScaler().fit(x_train)
    return (scaler.transform(x_train), y_train, scaler.transform(x_val), y_val,
            scaler.transform(x_test), y_test, np.unique(y))


class SklearnCurve:
    def __init__(self, dataset, seed, model):
        self.data = _split(dataset, seed)
        self.model = model
        self.diverged = False

    def _error(self, x, y):
        if self.diverged:
            return 1.0
        return float(np.mean(self.model.predict(x) != y))

    def next(self):
        x_train, y_train, x_val, y_val, _, _, classes = self.data
        if not self.diverged:
            try:
                self.model.partial_fit(x_train, y_train, classes=classes)
            except ValueError:  # SGD's "Floating-point under-/overflow"
                self.diverged = True
        return self._error(x_val, y_val)

    def truth(self):
        return self._error(self.data[4], self.data[5])


def _sgd_digits(seed, p):
    from sklearn.linear_model import SGDClassifier
    model = SGDClassifier(alpha=p["alpha"], eta0=p["eta0"], power_t=p["power_t"],
                          learning_rate="invscaling", random_state=seed)
    return SklearnCurve("digits", seed, model)


def _mlp_breast_cancer(seed, p):
    from sklearn.neural_network import MLPClassifier
    model = MLPClassifier(hidden_layer_sizes=(p["hidden"],), alpha=p["alpha"],
                          learning_rate_init=p["learning_rate_init"], batch_size=64,
                          random_state=seed)
    return SklearnCurve("breast_cancer", seed, model)


# --- synthetic curve families ---------------------------------------------------

def _rng(seed, params):
    key = json.dumps(sorted((k, round(float(v), 12)) for k, v in params.items()))
    digest = hashlib.sha256(key.encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


class SyntheticCurve:
    """f(step) + N(0, noise^2) at steps 1, 2, ...

    `decay` is f without its turn up (f itself where it never turns) and
    `onset` the step after which f leaves it: what bounds.py's oracles may
    know of a curve."""

    def __init__(self, seed, params, f, noise, decay=None, onset=math.inf):
        self.f, self.noise = f, noise
        self.decay, self.onset = decay or f, onset
        self.rng = _rng(seed, params)
        self.step = 0

    def next(self):
        self.step += 1
        return float(self.f(self.step) + self.noise * self.rng.standard_normal())

    def truth(self):
        return float(self.f(self.step))


def _exp_crossing(seed, p):
    """Exponential decay to an asymptote. A high learning rate converges within
    a few steps to a worse asymptote; the best asymptotes (lr near 1e-2, wide)
    converge too slowly to reach it in the budget, so the best final values
    sit in between and their curves cross the fast starters' late."""
    u = math.log10(p["lr"])
    rate = 10 ** (u + 0.5) / (0.5 + p["width"])
    a = 0.05 + 0.08 * (u + 2) ** 2 + 0.1 * (1 - p["width"]) ** 2 + 0.15 * (p["reg"] - 0.35) ** 2
    b = 0.95 - a
    return SyntheticCurve(seed, p, lambda t: a + b * math.exp(-rate * t), 0.01)


def _pow_overfit(seed, p):
    """Power-law decay that turns up again: high capacity reaches lower values
    but overfits after its minimum unless regularized, so the trial that looks
    best mid-way is not the one that ends best."""
    u = math.log10(p["lr"])
    cap, reg = p["capacity"], (math.log10(p["reg"]) + 4) / 4  # reg in [0, 1]
    rate = 10 ** (u + 1)
    c = 0.5 + cap
    a = 0.05 + 0.2 * (1 - cap) ** 2 + 0.1 * reg ** 2 + 0.03 * (u + 1.5) ** 2
    b = 0.9 - a
    over = 0.12 * cap * (1 - reg) ** 2 / EPOCHS
    onset = 5 + 20 * reg

    def decay(t):
        return a + b * (1 + rate * t) ** -c

    def f(t):
        return decay(t) + over * max(0.0, t - onset)

    return SyntheticCurve(seed, p, f, 0.015, decay, onset)


PROBLEMS = [
    Problem("sgd_digits", "real",
            "SGDClassifier (hinge, invscaling) on digits; alpha, eta0, power_t",
            [double_param("alpha", 1e-6, 1e-1, log=True), double_param("eta0", 1e-4, 1.0, log=True),
             double_param("power_t", 0.05, 0.8)], _sgd_digits),
    Problem("mlp_breast_cancer", "real",
            "MLPClassifier (adam, batch 64) on breast_cancer; alpha, learning_rate_init, "
            "hidden units",
            [double_param("alpha", 1e-6, 1e-1, log=True),
             double_param("learning_rate_init", 1e-5, 1e-1, log=True),
             int_param("hidden", 2, 64, log=True)], _mlp_breast_cancer),
    Problem("exp_crossing", "synthetic",
            "exponential decay, crossing curves, noise 0.01; lr, width, reg",
            [double_param("lr", 1e-3, 1.0, log=True), double_param("width", 0.0, 1.0),
             double_param("reg", 0.0, 1.0)], _exp_crossing),
    Problem("pow_overfit", "synthetic",
            "power-law decay with late overfitting, noise 0.015; lr, capacity, reg",
            [double_param("lr", 1e-3, 1.0, log=True), double_param("capacity", 0.0, 1.0),
             double_param("reg", 1e-4, 1.0, log=True)], _pow_overfit),
]


def find(name):
    for p in PROBLEMS:
        if p.name == name:
            return p
    raise KeyError(f"unknown problem {name!r} (known: {', '.join(p.name for p in PROBLEMS)})")
