"""The Katib iris example's training code: scikit-learn's LogisticRegression on iris.

As in Katib, it also runs alone, taking its hyperparameters as flags and printing
``accuracy=<value>``:

    python3 train.py --penalty=l2 --tol=0.001 --C=0.5 --max-iter=10
"""

from __future__ import annotations

import argparse
import warnings

import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

RANDOM_STATE = 1337


def _penalty_kwargs(penalty: str) -> dict:
    # scikit-learn 1.8 deprecated `penalty` for `l1_ratio` (0: L2, 1: L1).
    major, minor = (int(x) for x in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):
        return {"l1_ratio": {"l2": 0.0, "l1": 1.0}[penalty]}
    return {"penalty": penalty}


def train(penalty: str = "l2", tol: float = 0.001, C: float = 0.01, max_iter: int = 5) -> float:
    """Fits the model with these hyperparameters; returns the test accuracy."""
    iris = datasets.load_iris()
    X_train, X_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, random_state=RANDOM_STATE
    )
    clf = LogisticRegression(
        tol=tol, C=C, max_iter=max_iter, random_state=RANDOM_STATE, **_penalty_kwargs(penalty)
    )
    with warnings.catch_warnings():
        # 3 to 10 iterations are too few to converge: that is part of the search.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X=X_train, y=y_train)
    return float(accuracy_score(y_test, clf.predict(X_test)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--penalty", default="l2")
    parser.add_argument("--tol", type=float, default=0.001)
    parser.add_argument("--C", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, default=5)
    a = parser.parse_args()
    print(f"accuracy={train(a.penalty, a.tol, a.C, a.max_iter)}")
