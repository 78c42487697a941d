"""Katib's iris trial: LogisticRegression on iris, printing accuracy=<value>."""
import argparse
import warnings

from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

p = argparse.ArgumentParser()
p.add_argument("--tol", type=float, default=0.001)
p.add_argument("--C", type=float, default=0.01)
p.add_argument("--max-iter", type=int, default=5)
a = p.parse_args()
x = datasets.load_iris()
x_train, x_test, y_train, y_test = train_test_split(
    x.data, x.target, test_size=0.2, random_state=1337)
clf = LogisticRegression(tol=a.tol, C=a.C, max_iter=a.max_iter, random_state=1337)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(x_train, y_train)
print("accuracy=%s" % clf.score(x_test, y_test))
