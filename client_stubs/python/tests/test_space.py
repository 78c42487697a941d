"""The space helpers build the right hpo.v1.Parameter (no server needed)."""

import math

import pytest
from hpo_client import (
    choice,
    intrange,
    loguniform,
    lognormal,
    normal,
    qloguniform,
    quniform,
    uniform,
)
from hpo_client.space import python_value, space_to_proto
from hpo_client.v1 import hpo_pb2 as pb
from google.protobuf import struct_pb2


def one(param, name="p"):
    (p,) = space_to_proto({name: param})
    return p


def test_every_kind_converts():
    p = one(uniform(0, 1, step=0.25))
    assert p.WhichOneof("domain") == "double_range"
    assert (p.double_range.min, p.double_range.max, p.double_range.step) == (0, 1, 0.25)
    assert not p.double_range.log

    p = one(loguniform(1e-5, 1e-1))
    assert p.double_range.log and p.double_range.min == 1e-5

    p = one(quniform(0, 10, 2.5))
    assert p.double_range.q == 2.5 and not p.double_range.log

    p = one(qloguniform(1, 100, 1))
    assert p.double_range.q == 1 and p.double_range.log

    p = one(normal(0.9, 0.02, high=0.999))
    r = p.double_range
    assert r.distribution == pb.NORMAL and (r.mu, r.sigma) == (0.9, 0.02)
    assert r.HasField("max") and not r.HasField("min")

    p = one(lognormal(-3, 1, low=1e-4))
    assert p.double_range.distribution == pb.LOG_NORMAL and p.double_range.HasField("min")

    p = one(intrange(8, 64, step=8))
    assert (p.int_range.min, p.int_range.max, p.int_range.step) == (8, 64, 8)
    p = one(intrange(1, 1024, log=True))
    assert p.int_range.log

    p = one(choice(["adam", "sgd"]))
    assert list(p.categorical.values) == ["adam", "sgd"]
    p = one(choice([32, 64, 128]))
    assert list(p.discrete.values) == [32, 64, 128]


def test_when_makes_a_condition():
    p = one(uniform(0, 0.99, when={"opt": ["sgd"]}))
    assert p.condition.parent == "opt"
    assert [v.string_value for v in p.condition.values] == ["sgd"]
    p = one(intrange(1, 3, when={"layers": 2}))
    assert [v.number_value for v in p.condition.values] == [2]


def test_bad_helpers_raise():
    with pytest.raises(TypeError):
        choice(["a", 1])
    with pytest.raises(TypeError):
        choice([True, False])
    with pytest.raises(ValueError):
        choice([])
    with pytest.raises(TypeError):
        choice("abc")
    with pytest.raises(TypeError):
        intrange(1.5, 3)
    with pytest.raises(ValueError):
        uniform(0, math.inf)
    with pytest.raises(ValueError):
        uniform(0, 1, when={"a": ["x"], "b": ["y"]})
    with pytest.raises(ValueError):
        uniform(0, 1, when={"a": []})
    with pytest.raises(TypeError):
        space_to_proto({"x": (0, 1)})


def test_python_values_follow_the_parameter_kind():
    num = struct_pb2.Value(number_value=3.0)
    assert python_value(one(intrange(1, 5)), num) == 3
    assert isinstance(python_value(one(intrange(1, 5)), num), int)
    assert isinstance(python_value(one(uniform(0, 5)), num), float)
    assert isinstance(python_value(one(choice([1, 3, 5])), num), int)
    frac = struct_pb2.Value(number_value=0.5)
    assert python_value(one(choice([0.5, 1.0])), frac) == 0.5
    s = struct_pb2.Value(string_value="adam")
    assert python_value(one(choice(["adam"])), s) == "adam"
