"""hpo_client against the real server: every method, the errors, retries."""

from __future__ import annotations

import _thread
import collections
import signal
import threading
import time
import warnings

import grpc
import pytest

import hpo_client
from hpo_client import (
    AlreadyExistsError,
    Client,
    FailedPreconditionError,
    HpoError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    TrialPruned,
    UnavailableError,
    choice,
    intrange,
    loguniform,
    lognormal,
    normal,
    quniform,
    uniform,
)
from hpo_client.v1 import hpo_pb2, hpo_pb2_grpc

SPACE = {
    "lr": loguniform(1e-5, 1e-1),
    "layers": intrange(1, 4),
    "opt": choice(["adam", "sgd"]),
    "momentum": uniform(0, 0.99, when={"opt": ["sgd"]}),
    "batch": choice([32, 64, 128]),
}


def create(client, name, **kw):
    kw.setdefault("objective", "accuracy")
    return client.create_experiment(name, space=kw.pop("space", SPACE), **kw)


# -- experiments ----------------------------------------------------------------------------


def test_create_fills_in_defaults_and_experiment_finds_it(client, name):
    exp = create(client, name, max_trials=5, parallel_trials=2, seed=7, description="d")
    assert exp.name == name
    assert exp.spec.algorithm.name == "auto"
    assert exp.spec.seed == 7
    assert exp.objectives == [("accuracy", "maximize")]
    assert exp.state == "CREATED"
    again = client.experiment(name)
    assert again.spec.max_trials == 5 and again.spec.parallel_trials == 2
    assert [p.name for p in again.spec.parameters] == list(SPACE)
    assert name in [e.name for e in client.experiments(page_size=1)]


def test_every_space_helper_is_accepted_and_sampled_in_range(client, name):
    space = {
        "u": uniform(-1, 1),
        "us": uniform(0, 1, step=0.25),
        "lu": loguniform(1e-4, 1),
        "q": quniform(0, 10, 2.5),
        "n": normal(0.9, 0.02, high=0.999),
        "ln": lognormal(-2, 0.5, low=1e-3),
        "i": intrange(1, 4),
        "il": intrange(1, 1024, log=True),
        "is": intrange(8, 64, step=8),
        "c": choice(["a", "b"]),
        "d": choice([0.5, 1.5]),
        "di": choice([3, 5, 10]),
    }
    exp = create(client, name, space=space, objective="loss", goal="minimize")
    for _ in range(20):
        t = exp.suggest()
        p = t.params
        assert -1 <= p["u"] <= 1 and isinstance(p["u"], float)
        assert p["us"] in (0, 0.25, 0.5, 0.75, 1)
        assert 1e-4 <= p["lu"] <= 1
        assert p["q"] in (0, 2.5, 5, 7.5, 10)
        assert p["n"] <= 0.999
        assert p["ln"] >= 1e-3
        assert isinstance(p["i"], int) and 1 <= p["i"] <= 4
        assert isinstance(p["il"], int) and 1 <= p["il"] <= 1024
        assert p["is"] % 8 == 0
        assert p["c"] in ("a", "b")
        assert p["d"] in (0.5, 1.5) and isinstance(p["d"], float)
        assert p["di"] in (3, 5, 10) and isinstance(p["di"], int)
        t.report(loss=1.0)


def test_multiple_objectives_and_best_trials(client, name):
    exp = create(
        client,
        name,
        objective=None,
        objectives={"accuracy": "maximize", "latency": "minimize"},
    )
    assert exp.objectives == [("accuracy", "maximize"), ("latency", "minimize")]
    for acc, lat in [(0.9, 10.0), (0.8, 5.0), (0.7, 20.0)]:
        exp.suggest().report(accuracy=acc, latency=lat)
    front = exp.best_trials()
    assert sorted(t.number for t in front) == [0, 1]
    with pytest.raises(ValueError):
        exp.best()


def test_objectives_as_pairs_and_target(client, name):
    exp = create(client, name, objective=None, objectives=[("loss", "minimize")], target=0.1)
    assert exp.spec.objectives[0].target == 0.1
    exp.suggest().report(0.5)
    exp.suggest().report(0.05)
    assert exp.state == "COMPLETED"
    assert "reached its target" in exp.status.message


def test_create_with_exist_ok_returns_the_existing_one(client, name):
    first = create(client, name, max_trials=3)
    with pytest.raises(AlreadyExistsError) as err:
        create(client, name)
    assert str(err.value) == f'experiment.name: experiment "{name}" already exists'
    again = create(client, name, exist_ok=True)
    assert again.spec.seed == first.spec.seed


def test_import_katib_spec(client, name):
    katib = """
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: katib-experiment
spec:
  maxTrialCount: 12
  parallelTrialCount: 3
  maxFailedTrialCount: 3
  objective:
    type: maximize
    goal: 0.99
    objectiveMetricName: accuracy
  algorithm:
    algorithmName: random
  parameters:
    - name: tol
      parameterType: discrete
      feasibleSpace:
        list: ['0.001', '0.0001', '0.00001']
    - name: max_iter
      parameterType: int
      feasibleSpace: {min: '3', max: '10'}
"""
    exp = client.import_spec("katib", katib, name=name, max_trials=4)
    assert exp.name == name
    assert exp.spec.max_trials == 4, "the override wins"
    assert exp.spec.parallel_trials == 3
    assert exp.objectives == [("accuracy", "maximize")]
    t = exp.suggest()
    assert t.params["tol"] in (0.001, 0.0001, 0.00001)
    assert isinstance(t.params["max_iter"], int)
    with pytest.raises(InvalidArgumentError) as err:
        client.import_spec("optuna", "{}", name=name + "-x")
    assert str(err.value).startswith("import_spec.format: unknown format")


def test_import_kruize_dict(client, name):
    spec = {
        "experiment_name": "petclinic",
        "total_trials": 3,
        "parallel_trials": 1,
        "hpo_algo_impl": "random",
        "objective_function": "transaction_response_time",
        "direction": "minimize",
        "tunables": [
            {"value_type": "double", "name": "cpuRequest", "lower_bound": 1.0,
             "upper_bound": 3.0, "step": 0.01},
        ],
    }
    exp = client.import_spec("kruize", spec, name=name)
    assert exp.objectives == [("transaction_response_time", "minimize")]
    assert exp.spec.max_trials == 3


def test_stop_resume_delete(client, name):
    exp = create(client, name)
    t = exp.suggest()
    assert exp.stop(reason="pause").spec.state == hpo_pb2.Experiment.STOPPED
    with pytest.raises(FailedPreconditionError) as err:
        exp.suggest(worker_id="other")
    assert "is STOPPED" in str(err.value)
    t.report(accuracy=0.5)  # a running trial still reports
    assert exp.resume().spec.state == hpo_pb2.Experiment.RUNNING
    exp.suggest()
    exp.delete()
    with pytest.raises(NotFoundError):
        client.experiment(name)
    with pytest.raises(NotFoundError):
        exp.delete()


# -- trials ----------------------------------------------------------------------------------


def test_suggest_report_and_plain_python_params(client, name):
    exp = create(client, name)
    t = exp.suggest()
    assert t.number == 0 and t.state == "RUNNING"
    assert t.worker_id == client.worker_id
    p = t.params
    assert isinstance(p["lr"], float) and 1e-5 <= p["lr"] <= 1e-1
    assert isinstance(p["layers"], int) and 1 <= p["layers"] <= 4
    assert p["opt"] in ("adam", "sgd")
    assert p["batch"] in (32, 64, 128) and isinstance(p["batch"], int)
    assert ("momentum" in p) == (p["opt"] == "sgd")
    assert exp.suggest().number == 0, "asking again before reporting: the same trial"
    t.report(accuracy=0.93, loss=0.2)
    assert t.state == "COMPLETED" and t.metrics == {"accuracy": 0.93, "loss": 0.2}
    t.report(accuracy=0.93, loss=0.2)  # an identical retry is harmless
    with pytest.raises(FailedPreconditionError):
        t.report(accuracy=0.5)
    assert exp.suggest().number == 1


def test_report_forms(client, name):
    exp = create(client, name)
    assert exp.suggest().report(0.5).metrics == {"accuracy": 0.5}
    assert exp.suggest().report({"accuracy": 0.6, "f1": 0.1}).metrics == {
        "accuracy": 0.6,
        "f1": 0.1,
    }
    t = exp.suggest()
    with pytest.raises(InvalidArgumentError) as err:
        t.report(loss=0.1)
    assert str(err.value) == 'metrics: missing the objective metric "accuracy"'
    with pytest.raises(InvalidArgumentError) as err:
        t.report(accuracy=float("nan"))
    assert "must be finite" in str(err.value)
    with pytest.raises(TypeError):
        t.report(accuracy="high")


def test_conditional_space(client, name):
    space = {
        "opt": choice(["sgd", "adam"]),
        "momentum": uniform(0, 0.99, when={"opt": ["sgd"]}),
        "nesterov": choice(["yes", "no"], when={"opt": "sgd"}),
        "eps": loguniform(1e-3, 0.1, when={"nesterov": ["yes"]}),
        "beta1": normal(0.9, 0.02, high=0.999, when={"opt": ["adam"]}),
    }
    exp = create(client, name, space=space, objective="loss", goal="minimize")
    shapes = set()
    for _ in range(40):
        t = exp.suggest()
        p = t.params
        sgd = p["opt"] == "sgd"
        assert ("momentum" in p) == sgd and ("nesterov" in p) == sgd
        assert ("beta1" in p) == (not sgd)
        assert ("eps" in p) == (sgd and p["nesterov"] == "yes")
        shapes.add(tuple(sorted(p)))
        t.report(loss=1.0)
    assert len(shapes) == 3
    with pytest.raises(InvalidArgumentError) as err:
        exp.add_trial({"opt": "adam", "momentum": 0.5, "beta1": 0.9}, {"loss": 1})
    assert "is not active" in str(err.value)


def test_intermediate_values_prune_and_fail(client, name):
    exp = create(client, name)
    t = exp.suggest()
    for step in (1, 2, 3):
        assert t.report_intermediate(step, accuracy=0.1 * step, loss=1 / step) is False
    assert t.report_intermediate(3, {"accuracy": 0.1 * 3, "loss": 1 / 3}) is False  # retry
    with pytest.raises(InvalidArgumentError):
        t.report_intermediate(2, accuracy=0.5)
    t.prune(accuracy=0.3)
    assert t.state == "PRUNED"
    assert [iv.step for iv in t.proto.intermediate_values] == [1, 2, 3]

    f = exp.suggest()
    f.fail("out of memory")
    assert f.state == "FAILED" and f.proto.failure_reason == "out of memory"
    status = exp.status
    assert (status.pruned, status.failed) == (1, 1)


def test_heartbeat_keeps_the_lease(client, name):
    exp = create(client, name, trial_lease=0.6)
    assert exp.lease_seconds == pytest.approx(0.6)
    t = exp.suggest()
    for _ in range(4):
        time.sleep(0.25)
        assert t.heartbeat().state == "RUNNING"
    t.report(accuracy=0.5)
    with exp.trial(worker_id="w2") as t2:  # the with block heartbeats by itself
        time.sleep(1.5)
        t2.report(accuracy=0.4)
    assert exp.status.completed == 2

    lost = exp.suggest(worker_id="sleepy")
    time.sleep(1.5)
    with pytest.raises(FailedPreconditionError) as err:
        lost.report(accuracy=0.1)
    assert "lost its lease" in str(err.value)
    again = exp.suggest(worker_id="replacement")
    assert again.number == lost.number and again.params == lost.params


def test_with_block_reports_failures_prunes_and_forgotten_reports(client, name):
    exp = create(client, name)
    with exp.trial() as t:
        t.report(accuracy=0.9)
    assert t.state == "COMPLETED"

    with pytest.raises(ZeroDivisionError):
        with exp.trial() as t:
            1 / 0
    assert exp.get_trial(t.number).state == "FAILED"
    assert "ZeroDivisionError" in exp.get_trial(t.number).proto.failure_reason

    with exp.trial() as t:
        raise TrialPruned()
    assert exp.get_trial(t.number).state == "PRUNED"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with exp.trial() as t:
            pass
    assert any("without reporting" in str(w.message) for w in caught)
    assert exp.get_trial(t.number).state == "FAILED"


def test_next_trial_ends_with_the_experiment(client, name):
    exp = create(client, name, max_trials=3)
    seen = []
    while (t := exp.next_trial()) is not None:
        with t:
            seen.append(t.number)
            t.report(accuracy=t.params["lr"])
    assert seen == [0, 1, 2]
    assert exp.state == "COMPLETED"
    with pytest.raises(FailedPreconditionError) as err:
        exp.suggest()
    assert "COMPLETED" in str(err.value)


def test_trials_pages_and_filters(client, name):
    exp = create(client, name)
    for i in range(7):
        t = exp.suggest()
        if i % 2:
            t.fail("odd")
        else:
            t.report(accuracy=i / 10)
    all_trials = list(exp.trials(page_size=2))
    assert [t.number for t in all_trials] == list(range(7))
    assert [t.number for t in exp.trials(states=["FAILED"], page_size=2)] == [1, 3, 5]
    assert exp.best().number == 6
    assert exp.best().value == 0.6
    assert exp.get_trial(3).state == "FAILED"
    with pytest.raises(NotFoundError):
        exp.get_trial(99)


def test_best_is_none_before_any_result(client, name):
    exp = create(client, name)
    assert exp.best() is None
    assert exp.best_trials() == []


def test_add_trial_and_enqueue(client, name):
    exp = create(client, name, max_trials=2)
    added = exp.add_trial({"lr": 0.01, "layers": 2, "opt": "adam", "batch": 64}, {"accuracy": 0.7})
    assert added.state == "COMPLETED" and added.proto.origin == hpo_pb2.Trial.ADDED
    exp.add_trial({"lr": 0.02, "layers": 3, "opt": "adam", "batch": 32}, 0.6)
    failed = exp.add_trial({"lr": 0.02, "layers": 3, "opt": "adam", "batch": 32}, failed=True)
    assert failed.state == "FAILED"
    q = exp.enqueue({"opt": "sgd", "momentum": 0.9, "layers": 4})
    assert q.state == "WAITING"
    t = exp.suggest()
    assert t.number == q.number and t.proto.origin == hpo_pb2.Trial.ENQUEUED
    assert (t.params["opt"], t.params["momentum"], t.params["layers"]) == ("sgd", 0.9, 4)
    assert "lr" in t.params, "left-out parameters are filled in"
    with pytest.raises(InvalidArgumentError) as err:
        exp.enqueue({"layers": 9})
    assert str(err.value).startswith('parameters["layers"]')
    with pytest.raises(InvalidArgumentError):
        exp.add_trial({"lr": 5.0, "layers": 1, "opt": "adam", "batch": 32}, 0.1)


# -- errors ----------------------------------------------------------------------------------


def test_status_codes_are_typed_exceptions_with_the_servers_message(client, name):
    with pytest.raises(NotFoundError) as err:
        client.experiment("no-such-thing")
    assert str(err.value) == 'name: experiment "no-such-thing" does not exist'
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    assert err.value.method == "GetExperiment"

    with pytest.raises(InvalidArgumentError) as err:
        create(client, "Bad Name")
    assert str(err.value).startswith("experiment.name:")

    with pytest.raises(InvalidArgumentError) as err:
        create(client, name + "-algo", algorithm="simulated-annealing-9000")
    assert 'unknown algorithm "simulated-annealing-9000"' in str(err.value)

    with pytest.raises(InvalidArgumentError) as err:
        create(client, name + "-setting", algorithm="random", settings={"gama": 0.25})
    assert str(err.value).startswith("experiment.algorithm.settings.gama: unknown setting")

    exp = create(client, name, max_trials=2, parallel_trials=1)
    t = exp.suggest(worker_id="a")
    with pytest.raises(ResourceExhaustedError) as err:
        exp.suggest(worker_id="b")
    assert "already runs parallel_trials (1) trials" in str(err.value)
    t.report(accuracy=1)
    exp.suggest(worker_id="b").report(accuracy=1)
    with pytest.raises(FailedPreconditionError):
        exp.suggest(worker_id="c")

    for cls in (NotFoundError, InvalidArgumentError, ResourceExhaustedError,
                FailedPreconditionError, AlreadyExistsError, UnavailableError):
        assert issubclass(cls, HpoError)
    assert isinstance(err.value, HpoError)


def test_unreachable_server_is_unavailable_after_retries():
    with Client("127.0.0.1:1", retry_timeout=0.5, timeout=5) as c:
        start = time.monotonic()
        with pytest.raises(UnavailableError) as err:
            c.experiment("x")
        assert err.value.attempts > 1
        assert time.monotonic() - start < 5


def test_errors_from_the_generated_stub_convert(address):
    channel = grpc.insecure_channel(address)
    stub = hpo_pb2_grpc.HpoServiceStub(channel)
    try:
        stub.GetExperiment(hpo_pb2.GetExperimentRequest(name="nope"))
    except grpc.RpcError as e:
        err = hpo_client.errors.from_rpc_error(e, "GetExperiment")
        assert isinstance(err, NotFoundError)
    else:
        pytest.fail("expected NOT_FOUND")
    finally:
        channel.close()


# -- threads, optimize, retries --------------------------------------------------------------


def test_each_thread_has_its_own_stable_worker_id(client):
    ids = []
    threads = [threading.Thread(target=lambda: ids.append((client.worker_id, client.worker_id)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a == b for a, b in ids)
    assert len({a for a, _ in ids} | {client.worker_id}) == 5


def test_optimize_with_threads_waits_for_parallel_slots(client, name):
    exp = create(client, name, max_trials=12, parallel_trials=2)
    running = 0
    most = 0
    lock = threading.Lock()

    def objective(trial):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        if trial.number == 3:
            raise RuntimeError("diverged")
        if trial.number == 4:
            raise TrialPruned()
        if trial.number == 5:
            return {"accuracy": 0.5, "loss": 0.1}
        if trial.number == 6:
            trial.report(accuracy=0.6)
            return None
        if trial.number == 7:
            return float("nan")
        return trial.params["lr"]

    done = exp.optimize(objective, n_workers=4)
    assert [t.number for t in done] == list(range(12))
    assert most <= 2
    states = {t.number: t.state for t in exp.trials()}
    assert states[3] == "FAILED" and states[4] == "PRUNED" and states[7] == "FAILED"
    assert exp.get_trial(3).proto.failure_reason == "RuntimeError: diverged"
    assert exp.get_trial(5).metrics == {"accuracy": 0.5, "loss": 0.1}
    assert sum(s == "COMPLETED" for s in states.values()) == 9
    assert exp.state == "COMPLETED"
    assert len({t.worker_id for t in exp.trials()}) <= 4


def test_optimize_stops_at_n_trials_and_reraises_other_errors(client, name):
    exp = create(client, name)
    done = exp.optimize(lambda t: 0.5, n_trials=5, n_workers=3)
    assert len(done) == 5 and exp.status.trials == 5

    class Fatal(Exception):
        pass

    def boom(trial):
        raise Fatal("stop everything")

    with pytest.raises(Fatal):
        exp.optimize(boom, n_trials=3, catch=())
    assert exp.status.failed >= 1


def test_release_hands_the_trial_back_to_run_again(client, name):
    exp = create(client, name)
    t = exp.suggest(worker_id="w1")
    assert not t.report_intermediate(3, accuracy=0.4)
    other = exp.get_trial(t.number)
    other.worker_id = "w2"
    with pytest.raises(FailedPreconditionError) as err:
        other.release("not mine")
    assert 'leased to worker "w1"' in str(err.value)

    assert t.release("interrupted") is t
    assert t.state == "WAITING" and not t.proto.intermediate_values
    assert t.release("interrupted").state == "WAITING"  # a retry is harmless
    assert exp.status.failed == 0

    # The next worker gets the same trial before any new one, with the same
    # parameters, and runs it from its first step.
    again = exp.suggest(worker_id="w2")
    assert (again.number, again.params, again.worker_id) == (t.number, t.params, "w2")
    assert not again.report_intermediate(1, accuracy=0.3)
    again.report(accuracy=0.9)
    status = exp.status
    assert (status.completed, status.failed) == (1, 0)
    with pytest.raises(FailedPreconditionError):
        again.release("too late")


def test_keyboard_interrupt_in_a_with_block_releases_the_trial(client, name):
    exp = create(client, name, trial_lease=600)
    with pytest.raises(KeyboardInterrupt):
        with exp.trial(worker_id="interrupted") as t:
            raise KeyboardInterrupt
    assert exp.get_trial(t.number).state == "WAITING"
    assert exp.status.failed == 0
    assert exp.suggest(worker_id="next").number == t.number


@pytest.fixture
def ctrl_c():
    """Python's own Ctrl-C handler, which interrupt_main() needs: a test command
    started in the background (`cmd &`, nohup, some CI runners) inherits SIGINT
    ignored, and then no Ctrl-C, real or simulated, reaches Python."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_interrupted_optimize_releases_its_trials_and_reraises(client, name, ctrl_c):
    # A lease far longer than the test: only the release lets the trial run again.
    exp = create(client, name, max_trials=4, trial_lease=600)
    gate = threading.Event()
    interrupted = {}

    def objective(trial):
        if trial.number == 2:
            interrupted.update(trial.params)
            _thread.interrupt_main()  # Ctrl-C, delivered to the calling thread
            gate.wait(10)
            return 0.99  # finished after the interruption: must not be reported
        return trial.params["lr"]

    with pytest.raises(KeyboardInterrupt):
        exp.optimize(objective, n_workers=1)
    assert exp.get_trial(2).state == "WAITING"
    assert exp.status.failed == 0
    gate.set()
    for thread in threading.enumerate():
        if thread.name.startswith(f"hpo-{name}-"):
            thread.join(10)
    assert exp.get_trial(2).state == "WAITING"

    start = time.monotonic()
    done = exp.optimize(lambda trial: trial.params["lr"])
    assert time.monotonic() - start < 5
    assert [t.number for t in done] == [2, 3]
    assert done[0].params == interrupted
    assert done[0].value == pytest.approx(interrupted["lr"])
    assert exp.state == "COMPLETED"
    status = exp.status
    assert (status.completed, status.failed) == (4, 0)


class _LostResponse(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "connection reset (the test dropped the response)"


class DropFirstResponse(grpc.UnaryUnaryClientInterceptor):
    """Lets each listed call reach the server, then drops its first response: the worst
    case for a retry (the server acted, the client does not know)."""

    def __init__(self, *methods):
        self.methods = set(methods)
        self.dropped = collections.Counter()

    def intercept_unary_unary(self, continuation, details, request):
        outcome = continuation(details, request)
        method = details.method.rsplit("/", 1)[-1]
        if method in self.methods and not self.dropped[method]:
            outcome.result()  # the server did it
            self.dropped[method] += 1
            raise _LostResponse()
        return outcome


def test_retries_after_a_lost_response_make_no_duplicates(address, name):
    drop = DropFirstResponse(
        "CreateExperiment", "GetTrialConfig", "ReportResult", "ReportIntermediate",
        "StopExperiment", "ResumeExperiment", "Heartbeat",
    )
    channel = grpc.intercept_channel(grpc.insecure_channel(address), drop)
    client = Client(address, channel=channel, retry_timeout=5)
    exp = create(client, name)  # created by the first attempt; the retry finds it
    t = exp.suggest()
    t.heartbeat()
    assert t.report_intermediate(1, accuracy=0.1) is False
    t.report(accuracy=0.8)
    exp.stop()
    exp.resume()
    assert sum(drop.dropped.values()) == 7
    trials = list(exp.trials())
    assert len(trials) == 1, "the retried GetTrialConfig made no second trial"
    assert trials[0].state == "COMPLETED" and trials[0].metrics == {"accuracy": 0.8}
    assert len(trials[0].proto.intermediate_values) == 1
    channel.close()


def test_add_trial_is_not_retried(address, name):
    drop = DropFirstResponse("AddTrial")
    channel = grpc.intercept_channel(grpc.insecure_channel(address), drop)
    client = Client(address, channel=channel, retry_timeout=5)
    exp = create(client, name)
    with pytest.raises(UnavailableError):
        exp.add_trial({"lr": 0.01, "layers": 2, "opt": "adam", "batch": 64}, 0.5)
    assert len(list(exp.trials())) == 1, "recorded once, not retried"
    channel.close()


def test_retry_rides_out_a_server_restart(fresh_server, name):
    client = Client(fresh_server.address, retry_timeout=20)
    exp = create(client, name)
    first = exp.suggest()
    fresh_server.stop()

    def restart():
        time.sleep(1.0)
        fresh_server.start()

    thread = threading.Thread(target=restart)
    thread.start()
    again = exp.suggest()  # UNAVAILABLE until the server is back, then retried
    thread.join()
    assert again.number == first.number and again.params == first.params
    again.report(accuracy=0.5)
    assert [t.number for t in exp.trials()] == [0]
    client.close()
