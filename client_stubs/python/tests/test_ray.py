"""hpo_client.ray.HpoSearch in real Ray Tune runs (a local Ray with 2 CPUs) against the
real server."""

from __future__ import annotations

import os

import grpc
import pytest

ray = pytest.importorskip("ray", reason="ray[tune] is in requirements-dev.txt")
from ray import tune  # noqa: E402

from hpo_client import Client, choice, intrange, uniform  # noqa: E402
from hpo_client.ray import HpoSearch, convert_tune_space  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    here = os.path.dirname(os.path.abspath(__file__))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        # Ray's workers import this module's trainables by name.
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([here, os.path.dirname(here)])}},
    )
    yield
    ray.shutdown()


def run(trainable, search, tmp_path, param_space=None, **tune_config):
    tuner = tune.Tuner(
        trainable,
        param_space=param_space or {},
        tune_config=tune.TuneConfig(search_alg=search, num_samples=-1, **tune_config),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path / "ray_results"), verbose=0, stop=search.stopper()
        ),
    )
    return tuner.fit()


def curve(config):
    for step in range(3):
        tune.report({"score": -((config["x"] - 0.3) ** 2) + 0.01 * step, "aux": step})


def test_tune_domains_convert():
    space, decoders = convert_tune_space(
        {
            "a": tune.uniform(0, 1),
            "b": tune.loguniform(1e-3, 1),
            "c": tune.quniform(0, 1, 0.25),
            "d": tune.randn(0, 1),
            "e": tune.randint(1, 5),
            "f": tune.qrandint(0, 10, 2),
            "g": tune.lograndint(1, 100),
            "h": tune.choice(["x", "y"]),
            "i": tune.choice([1, 2]),
            "nested": {"j": tune.choice([None, "k", 3])},
            "const": 5,
        }
    )
    assert sorted(space) == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "nested/j"]
    assert (space["e"].low, space["e"].high) == (1, 4), "randint excludes upper"
    assert (space["f"].high, space["f"].step) == (10, 2), "qrandint includes upper"
    assert space["g"].log and space["b"].log and space["c"].q == 0.25
    assert space["h"].kind == "categorical" and space["i"].kind == "discrete"
    assert decoders == {"nested/j": [None, "k", 3]}
    with pytest.raises(ValueError):
        convert_tune_space({"g": tune.grid_search([1, 2])})


def test_tune_run_with_param_space(local_ray, address, name, tmp_path):
    search = HpoSearch(address, experiment=name, max_trials=6, parallel_trials=2, seed=3)
    results = run(
        curve,
        search,
        tmp_path,
        param_space={
            "x": tune.uniform(0, 1),
            "opt": tune.choice(["adam", "sgd"]),
            "model": {"depth": tune.randint(1, 4)},
            "act": tune.choice([None, "relu"]),
        },
        metric="score",
        mode="max",
    )
    assert len(results) == 6 and not results.errors
    exp = Client(address).experiment(name)
    assert exp.state == "COMPLETED"
    assert exp.objectives == [("score", "maximize")]
    trials = list(exp.trials())
    assert [t.state for t in trials] == ["COMPLETED"] * 6
    assert all(len(t.proto.intermediate_values) == 3 for t in trials)
    assert all(set(t.metrics) == {"score", "aux"} for t in trials)
    best_ray = results.get_best_result()
    best = exp.best()
    assert best_ray.config["x"] == best.params["x"]
    assert best_ray.config["model"]["depth"] == best.params["model/depth"]
    assert best_ray.metrics["score"] == best.metrics["score"]


def test_tune_joins_an_existing_experiment_with_conditions(local_ray, address, name, tmp_path):
    client = Client(address)
    client.create_experiment(
        name,
        space={
            "opt": choice(["adam", "sgd"]),
            "momentum": uniform(0, 0.99, when={"opt": ["sgd"]}),
            "layers": intrange(1, 3),
        },
        objective="loss",
        goal="minimize",
        max_trials=5,
    )
    client.experiment(name).enqueue({"opt": "sgd", "momentum": 0.5, "layers": 3})

    def train(config):
        if config["layers"] == 2:
            raise RuntimeError("boom")
        assert ("momentum" in config) == (config["opt"] == "sgd")
        tune.report({"loss": config["layers"] + config.get("momentum", 0)})

    search = HpoSearch(client, experiment=name)  # metric and mode come from the server
    results = run(train, search, tmp_path)
    assert len(results) == 5
    exp = client.experiment(name)
    trials = list(exp.trials())
    assert trials[0].params == {"opt": "sgd", "momentum": 0.5, "layers": 3}
    for t in trials:
        assert t.state == ("FAILED" if t.params["layers"] == 2 else "COMPLETED")
    assert exp.state == "COMPLETED"


class StopAtStep2(grpc.UnaryUnaryClientInterceptor):
    """Plays an early-stopping rule: answers 'stop' from step 2 on."""

    def intercept_unary_unary(self, continuation, details, request):
        outcome = continuation(details, request)
        if details.method.endswith("/ReportIntermediate") and request.step >= 2:
            response = outcome.result()
            response.should_stop = True
            response.reason = "the test's rule"
        return outcome


def test_pruning_hints_stop_tune_trials(local_ray, address, name, tmp_path):
    channel = grpc.intercept_channel(grpc.insecure_channel(address), StopAtStep2())
    client = Client(address, channel=channel)

    def long_curve(config):
        for step in range(10):
            tune.report({"acc": config["x"] * step})

    search = HpoSearch(
        client, experiment=name, space={"x": uniform(0, 1)}, metric="acc", mode="max",
        max_trials=3,
    )
    results = run(long_curve, search, tmp_path)
    assert len(results) == 3
    assert all(r.metrics["training_iteration"] == 2 for r in results)
    trials = list(client.experiment(name).trials())
    assert [t.state for t in trials] == ["PRUNED"] * 3
    assert all([iv.step for iv in t.proto.intermediate_values] == [1, 2] for t in trials)
    channel.close()


def test_searcher_pickles_without_its_connection(address, name):
    import pickle

    search = HpoSearch(address, experiment=name, space={"x": uniform(0, 1)}, metric="m", mode="max")
    assert search.suggest("t1") is not None
    copy = pickle.loads(pickle.dumps(search))
    assert copy._live == search._live
    copy.on_trial_complete("t1", {"m": 0.5})
    assert Client(address).experiment(name).best().metrics == {"m": 0.5}
