"""Search-space helpers: one function per kind of parameter.

A space is a dict from parameter name to one of these::

    space = {
        "lr": loguniform(1e-5, 1e-1),
        "layers": intrange(1, 4),
        "units": intrange(16, 256, step=16),
        "opt": choice(["adam", "sgd"]),
        "momentum": uniform(0, 0.99, when={"opt": ["sgd"]}),
        "batch": choice([32, 64, 128]),
    }

``when={"parent": [values...]}`` makes a parameter conditional: it is in a trial only
when its parent is and takes one of the values (conditions nest).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from google.protobuf import struct_pb2

from .v1 import hpo_pb2 as pb

__all__ = [
    "Param",
    "Space",
    "uniform",
    "loguniform",
    "quniform",
    "qloguniform",
    "normal",
    "lognormal",
    "intrange",
    "choice",
    "space_to_proto",
    "Condition",
]

Scalar = Union[str, int, float]
# {"parent": ["value", ...]} or {"parent": "value"}.
Condition = Mapping[str, Union[Scalar, Sequence[Scalar]]]


@dataclass(frozen=True)
class Param:
    """One parameter's domain, as the helpers build it; ``to_proto`` gives the wire form.

    Use the helpers (:func:`uniform`, :func:`intrange`, :func:`choice`, ...) rather than
    building one by hand.
    """

    kind: str  # "double", "int", "categorical" or "discrete"
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: float = 0
    q: float = 0
    distribution: int = pb.DISTRIBUTION_UNSPECIFIED
    mu: float = 0
    sigma: float = 0
    values: Tuple[Scalar, ...] = ()
    when: Optional[Tuple[str, Tuple[Scalar, ...]]] = field(default=None)

    def to_proto(self, name: str) -> pb.Parameter:
        """The ``hpo.v1.Parameter`` named ``name``."""
        p = pb.Parameter(name=name)
        if self.kind == "double":
            r = p.double_range
            if self.low is not None:
                r.min = float(self.low)
            if self.high is not None:
                r.max = float(self.high)
            r.log = self.log
            r.step = float(self.step)
            r.q = float(self.q)
            r.distribution = self.distribution
            r.mu = float(self.mu)
            r.sigma = float(self.sigma)
        elif self.kind == "int":
            r = p.int_range
            r.min = int(self.low or 0)
            r.max = int(self.high or 0)
            r.log = self.log
            r.step = int(self.step)
        elif self.kind == "categorical":
            p.categorical.values.extend(str(v) for v in self.values)
        elif self.kind == "discrete":
            p.discrete.values.extend(float(v) for v in self.values)
        else:  # pragma: no cover - the helpers never build another kind
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.when is not None:
            parent, values = self.when
            p.condition.parent = parent
            for v in values:
                p.condition.values.append(_to_value(v))
        return p


Space = Mapping[str, Param]


def _to_value(v: Scalar) -> struct_pb2.Value:
    value = struct_pb2.Value()
    if isinstance(v, bool):
        raise TypeError(f"condition value {v!r}: use a string or a number, not a bool")
    if isinstance(v, str):
        value.string_value = v
    elif isinstance(v, numbers.Real):
        value.number_value = float(v)
    else:
        raise TypeError(f"condition value {v!r}: must be a string or a number")
    return value


def _when(when: Optional[Condition]) -> Optional[Tuple[str, Tuple[Scalar, ...]]]:
    if when is None:
        return None
    if len(when) != 1:
        raise ValueError(
            f"when={dict(when)!r}: a condition has exactly one parent; to depend on "
            "several, make the parent itself conditional"
        )
    ((parent, values),) = when.items()
    if isinstance(values, (str, numbers.Real)):
        values = (values,)
    values = tuple(values)
    if not values:
        raise ValueError(f"when={{{parent!r}: []}}: give at least one value")
    for v in values:
        _to_value(v)  # type check
    return (str(parent), values)


def _finite(name: str, v: Optional[float]) -> None:
    if v is not None and not (isinstance(v, numbers.Real) and math.isfinite(v)):
        raise ValueError(f"{name}: must be a finite number, got {v!r}")


def uniform(
    low: float,
    high: float,
    *,
    step: float = 0,
    when: Optional[Condition] = None,
) -> Param:
    """A real number uniform in [low, high]; with ``step``, one of low + k * step."""
    _finite("low", low)
    _finite("high", high)
    return Param("double", low=low, high=high, step=step, when=_when(when))


def loguniform(low: float, high: float, *, when: Optional[Condition] = None) -> Param:
    """A real number in [low, high] (low > 0), uniform in log(value)."""
    _finite("low", low)
    _finite("high", high)
    return Param("double", low=low, high=high, log=True, when=_when(when))


def quniform(low: float, high: float, q: float, *, when: Optional[Condition] = None) -> Param:
    """NNI's quniform: clip(round(uniform(low, high) / q) * q, low, high)."""
    _finite("q", q)
    return Param("double", low=low, high=high, q=q, when=_when(when))


def qloguniform(
    low: float, high: float, q: float, *, when: Optional[Condition] = None
) -> Param:
    """NNI's qloguniform: loguniform(low, high), then rounded to a multiple of q."""
    _finite("q", q)
    return Param("double", low=low, high=high, log=True, q=q, when=_when(when))


def normal(
    mu: float,
    sigma: float,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    q: float = 0,
    when: Optional[Condition] = None,
) -> Param:
    """A real number drawn from Normal(mu, sigma), truncated to [low, high] where given."""
    return _normal_prior(pb.NORMAL, mu, sigma, low, high, q, when)


def lognormal(
    mu: float,
    sigma: float,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    q: float = 0,
    when: Optional[Condition] = None,
) -> Param:
    """A positive real number whose log is Normal(mu, sigma); bounds as for normal()."""
    return _normal_prior(pb.LOG_NORMAL, mu, sigma, low, high, q, when)


def _normal_prior(distribution, mu, sigma, low, high, q, when) -> Param:
    for name, value in (("mu", mu), ("sigma", sigma), ("low", low), ("high", high)):
        _finite(name, value)
    return Param(
        "double",
        low=low,
        high=high,
        q=q,
        distribution=distribution,
        mu=mu,
        sigma=sigma,
        when=_when(when),
    )


def intrange(
    low: int,
    high: int,
    *,
    step: int = 1,
    log: bool = False,
    when: Optional[Condition] = None,
) -> Param:
    """An integer in [low, high], both inclusive; one of low + k * step; ``log`` samples
    on a log scale (low >= 1)."""
    for n, v in (("low", low), ("high", high), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"intrange {n}: must be an int, got {v!r}")
    return Param("int", low=int(low), high=int(high), step=int(step), log=log, when=_when(when))


def choice(values: Sequence[Scalar], *, when: Optional[Condition] = None) -> Param:
    """One of ``values``: strings make a categorical parameter (unordered labels),
    numbers a discrete one (ordered). Trials give back the values' own type: str,
    int (when every value is a whole number) or float."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"choice: values must be a list, got {values!r}")
    values = tuple(values)
    if not values:
        raise ValueError("choice: give at least one value")
    if any(isinstance(v, bool) for v in values):
        raise TypeError("choice: use strings such as 'true'/'false' rather than bools")
    if all(isinstance(v, str) for v in values):
        return Param("categorical", values=values, when=_when(when))
    if all(isinstance(v, numbers.Real) for v in values):
        for v in values:
            _finite("choice value", v)
        return Param("discrete", values=values, when=_when(when))
    raise TypeError(f"choice: values must be all strings or all numbers, got {list(values)!r}")


def space_to_proto(space: Space) -> list:
    """The ``hpo.v1.Parameter`` list for a space dict, in the dict's order."""
    params = []
    for name, p in space.items():
        if not isinstance(p, Param):
            raise TypeError(
                f"space[{name!r}]: expected uniform(), intrange(), choice(), ..., got {p!r}"
            )
        params.append(p.to_proto(name))
    return params


def python_value(param: pb.Parameter, value: struct_pb2.Value) -> Any:
    """A trial's parameter value as plain Python, by the parameter's kind: float for a
    double_range, int for an int_range, str for a categorical, and for a discrete one
    int when all its values are whole numbers, else float."""
    which = value.WhichOneof("kind")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which != "number_value":
        return None
    x = value.number_value
    domain = param.WhichOneof("domain") if param is not None else None
    if domain == "int_range":
        return int(round(x))
    if domain == "discrete":
        if all(float(v).is_integer() for v in param.discrete.values) and x.is_integer():
            return int(x)
        return x
    return x
