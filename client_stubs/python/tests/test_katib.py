"""hpo as Katib's suggestion service: a client made from the pinned kubeflow-katib wheel
plays Katib's controller against the real server binary (--katib_port).

Like the controller, each round sends the whole experiment spec and every trial so far
(observations as strings; trials that failed without metrics left out), asks for as
many trials as free parallel slots, and names each Trial as the reply says.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import grpc
import pytest

from conftest import REPO_ROOT, Server, server_flags

pytestmark = pytest.mark.skipif(
    "--katib_port" not in server_flags(), reason="this hpo-server has no --katib_port"
)

_PB = None


def katib_pb():
    """The wheel's katib_api_pb2, loaded alone (the package's __init__ needs the
    Kubernetes client)."""
    global _PB
    if _PB is None:
        path = importlib.metadata.distribution("kubeflow-katib").locate_file(
            "kubeflow/katib/katib_api_pb2.py"
        )
        spec = importlib.util.spec_from_file_location("katib_api_pb2", str(path))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _PB = module
    return _PB


class Katib:
    """Stubs of Katib's Suggestion and EarlyStopping services and gRPC health."""

    def __init__(self, address: str) -> None:
        pb = katib_pb()
        self.channel = grpc.insecure_channel(address)

        def unary(path, request, reply):
            return self.channel.unary_unary(
                path,
                request_serializer=request.SerializeToString,
                response_deserializer=reply.FromString,
            )

        s = "/api.v1.beta1.Suggestion/"
        e = "/api.v1.beta1.EarlyStopping/"
        self.get_suggestions = unary(
            s + "GetSuggestions", pb.GetSuggestionsRequest, pb.GetSuggestionsReply
        )
        self.validate_algorithm = unary(
            s + "ValidateAlgorithmSettings",
            pb.ValidateAlgorithmSettingsRequest,
            pb.ValidateAlgorithmSettingsReply,
        )
        self.get_rules = unary(
            e + "GetEarlyStoppingRules",
            pb.GetEarlyStoppingRulesRequest,
            pb.GetEarlyStoppingRulesReply,
        )
        self.validate_early_stopping = unary(
            e + "ValidateEarlyStoppingSettings",
            pb.ValidateEarlyStoppingSettingsRequest,
            pb.ValidateEarlyStoppingSettingsReply,
        )
        self.set_trial_status = unary(
            e + "SetTrialStatus", pb.SetTrialStatusRequest, pb.SetTrialStatusReply
        )
        # grpc.health.v1 by hand: HealthCheckRequest{service = 1},
        # HealthCheckResponse{status = 1}, SERVING = 1.
        self._health = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda s: b"\n" + bytes([len(s)]) + s.encode() if s else b"",
            response_deserializer=lambda b: b[1] if len(b) == 2 and b[0] == 8 else 0,
        )

    def health(self, service: str) -> int:
        return self._health(service, timeout=10)

    def close(self) -> None:
        self.channel.close()


def katib_address(server: Server) -> str:
    found = re.findall(r"Katib suggestion API listening on (\S+):(\d+)", server.log.read_text())
    assert found, server.log.read_text()[-2000:]
    return f"127.0.0.1:{found[-1][1]}"


@pytest.fixture()
def katib_server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path, args=["--katib_port=0"]).start()
    try:
        yield s
    finally:
        s.stop()


# --- the seeds' iris experiment (shared/seeds/katib-iris-example.md) ----------------------

IRIS_PARAMETERS = [
    ("penalty", "CATEGORICAL", ["l2"]),
    ("tol", "CATEGORICAL", ["0.001", "0.0001", "0.00001"]),
    ("C", "DISCRETE", ["0.01", "0.50", "1.00"]),
    ("max_iter", "DISCRETE", ["3", "5", "10"]),
]


def experiment(
    algorithm: str,
    settings: Sequence[Tuple[str, str]] = (),
    name: str = "katib-experiment",
    parameters=None,
    goal: float = 0.99,
    early_stopping: Optional[Tuple[str, Sequence[Tuple[str, str]]]] = None,
):
    pb = katib_pb()
    e = pb.Experiment(name=name)
    spec = e.spec
    for pname, ptype, space in parameters or IRIS_PARAMETERS:
        p = spec.parameter_specs.parameters.add(name=pname, parameter_type=pb.ParameterType.Value(ptype))
        if isinstance(space, dict):
            for key in ("min", "max", "step"):
                if key in space:
                    setattr(p.feasible_space, key, space[key])
            if "distribution" in space:
                p.feasible_space.distribution = pb.Distribution.Value(space["distribution"])
        else:
            p.feasible_space.list.extend(space)
    spec.objective.type = pb.MAXIMIZE
    spec.objective.goal = goal
    spec.objective.objective_metric_name = "accuracy"
    spec.algorithm.algorithm_name = algorithm
    for k, v in settings:
        spec.algorithm.algorithm_settings.add(name=k, value=v)
    if early_stopping:
        spec.early_stopping.algorithm_name = early_stopping[0]
        for k, v in early_stopping[1]:
            spec.early_stopping.algorithm_settings.add(name=k, value=v)
    spec.parallel_trial_count = 3
    spec.max_trial_count = 12
    return e


def accuracy(params: Dict[str, str]) -> float:
    """A made-up but deterministic iris accuracy."""
    score = 0.6 + 0.1 * float(params.get("C", "0.5")) + 0.01 * float(params.get("max_iter", "5"))
    return round(min(score, 0.98), 6)


class Controller:
    """What Katib's suggestion controller sends and does with the answers."""

    def __init__(self, exp) -> None:
        self.exp = exp
        self.trials: List = []  # api.v1.beta1.Trial, in creation order
        self.dropped: set = set()  # failed without metrics: never listed again
        self.requests = 0

    def listed(self):
        return [t for t in self.trials if t.name not in self.dropped]

    def running(self):
        pb = katib_pb()
        return [t for t in self.listed() if t.status.condition == pb.TrialStatus.RUNNING]

    def wanted(self) -> int:
        spec = self.exp.spec
        return max(
            0,
            min(spec.parallel_trial_count - len(self.running()), spec.max_trial_count - len(self.trials)),
        )

    def request(self, n: int):
        pb = katib_pb()
        self.requests += n
        return pb.GetSuggestionsRequest(
            experiment=self.exp,
            trials=self.listed(),
            current_request_number=n,
            total_request_number=self.requests,
        )

    def take(self, reply) -> List:
        pb = katib_pb()
        new = []
        for a in reply.parameter_assignments:
            t = pb.Trial(name=a.trial_name)
            t.spec.objective.CopyFrom(self.exp.spec.objective)
            t.spec.parameter_assignments.assignments.extend(a.assignments)
            t.status.condition = pb.TrialStatus.RUNNING
            self.trials.append(t)
            new.append(t)
        return new

    def finish(self, trial, value: Optional[float]) -> None:
        pb = katib_pb()
        if value is None:
            trial.status.condition = pb.TrialStatus.FAILED
            self.dropped.add(trial.name)
            return
        trial.status.condition = pb.TrialStatus.SUCCEEDED
        trial.status.observation.metrics.add(name="accuracy", value=str(value))


def params_of(t) -> Dict[str, str]:
    return {a.name: a.value for a in t.spec.parameter_assignments.assignments}


DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_assignment(exp, assignment) -> None:
    """Every parameter once, of its type, in its range; the trial named as a DNS-1123
    label."""
    pb = katib_pb()
    assert DNS1123.match(assignment.trial_name) and len(assignment.trial_name) <= 63, assignment
    got = {a.name: a.value for a in assignment.assignments}
    specs = exp.spec.parameter_specs.parameters
    assert sorted(got) == sorted(p.name for p in specs)
    for p in specs:
        value = got[p.name]
        space = p.feasible_space
        if p.parameter_type in (pb.CATEGORICAL, pb.DISCRETE):
            assert value in list(space.list), (p.name, value)
        elif p.parameter_type == pb.INT:
            assert re.fullmatch(r"-?\d+", value), (p.name, value)
            v = int(value)
            assert int(space.min) <= v <= int(space.max), (p.name, value)
            if space.step:
                assert (v - int(space.min)) % int(space.step) == 0, (p.name, value)
        else:
            v = float(value)
            assert float(space.min) <= v <= float(space.max), (p.name, value)
            if space.step and space.distribution in (pb.DISTRIBUTION_UNSPECIFIED, pb.UNIFORM):
                k = (v - float(space.min)) / float(space.step)
                assert abs(k - round(k)) < 1e-6, (p.name, value)


def run_experiment(
    katib_for_round, exp, fail_trial: Optional[int] = 4, check=check_assignment
) -> List[List[Tuple[str, Tuple]]]:
    """Runs `exp` to max_trial_count, a round at a time: ask for the free slots, then
    finish the oldest running trial (trial `fail_trial` fails without metrics, so it
    drops out of the list, as in Katib). Returns each round's (trial name, params)."""
    ctl = Controller(exp)
    rounds = []
    r = 0
    while len(ctl.trials) < exp.spec.max_trial_count or ctl.running():
        n = ctl.wanted()
        if n > 0:
            katib = katib_for_round(r)
            running_before = {tuple(sorted(params_of(t).items())) for t in ctl.running()}
            reply = katib.get_suggestions(ctl.request(n), timeout=60)
            assert len(reply.parameter_assignments) == n
            new = ctl.take(reply)
            got = [tuple(sorted(params_of(t).items())) for t in new]
            # No running trial's parameters again, and none twice in a round.
            assert not running_before & set(got), (running_before, got)
            assert len(set(got)) == len(got), got
            for a in reply.parameter_assignments:
                check(exp, a)
            rounds.append([(t.name, p) for t, p in zip(new, got)])
        oldest = ctl.running()[0]
        index = ctl.trials.index(oldest)
        ctl.finish(oldest, None if index == fail_trial else accuracy(params_of(oldest)))
        r += 1
    names = [t.name for t in ctl.trials]
    assert len(set(names)) == len(names) == exp.spec.max_trial_count
    return rounds


@pytest.mark.parametrize("algorithm", ["random", "tpe", "bayesianoptimization", "cmaes"])
def test_iris_like_katibs_controller(katib_server, algorithm):
    katib = Katib(katib_address(katib_server))
    try:
        katib.validate_algorithm(katib_pb().ValidateAlgorithmSettingsRequest(experiment=experiment(algorithm)), timeout=60)
        rounds = run_experiment(lambda r: katib, experiment(algorithm))
        assert sum(len(r) for r in rounds) == 12
        assert [len(r) for r in rounds[:1]] == [3]
        if algorithm == "random":
            # Random search never repeats a configuration of a finite space.
            everything = [p for r in rounds for _, p in r]
            assert len(set(everything)) == len(everything)
    finally:
        katib.close()


def test_every_type_and_range(katib_server):
    parameters = [
        ("lr", "DOUBLE", {"min": "0.001", "max": "0.1", "distribution": "LOG_UNIFORM"}),
        ("momentum", "DOUBLE", {"min": "0.5", "max": "0.9", "step": "0.1"}),
        ("dropout", "DOUBLE", {"min": "0.1", "max": "0.5", "distribution": "NORMAL"}),
        ("layers", "INT", {"min": "2", "max": "10", "step": "2"}),
        ("units", "INT", {"min": "16", "max": "256", "distribution": "LOG_UNIFORM"}),
        ("batch", "DISCRETE", ["16", "32", "64"]),
        ("optimizer", "CATEGORICAL", ["sgd", "adam", "ftrl"]),
    ]
    katib = Katib(katib_address(katib_server))
    try:
        for algorithm in ("random", "tpe", "multivariate-tpe", "sobol", "auto"):
            exp = experiment(algorithm, name=f"types-{algorithm}", parameters=parameters)
            run_experiment(lambda r: katib, exp)
    finally:
        katib.close()


def test_restart_between_rounds_changes_nothing(tmp_path):
    """The same experiment (seeded with random_state) run on a server that restarts
    before every round and on one that does not: the same trials."""
    exp = experiment("tpe", settings=[("random_state", "42"), ("n_startup_trials", "4")])
    steady = Server(tmp_path / "steady", args=["--katib_port=0"])
    (tmp_path / "steady").mkdir()
    restarted = Server(tmp_path / "restarted", args=["--katib_port=0"])
    (tmp_path / "restarted").mkdir()
    steady.start()
    try:
        k = Katib(katib_address(steady))
        expected = run_experiment(lambda r: k, exp)
        k.close()
    finally:
        steady.stop()

    clients: List[Katib] = []

    def after_restart(r: int) -> Katib:
        restarted.stop()
        restarted.start()
        clients.append(Katib(katib_address(restarted)))
        return clients[-1]

    try:
        got = run_experiment(after_restart, exp)
    finally:
        for c in clients:
            c.close()
        restarted.stop()
    # The same suggestions, round by round. (Each server names its trials after its
    # own experiment, so names differ between the two; within the restarted one they
    # kept to one experiment.)
    assert [[p for _, p in r] for r in got] == [[p for _, p in r] for r in expected]
    prefixes = {name.rsplit("-", 1)[0] for r in got for name, _ in r}
    assert len(prefixes) == 1, prefixes


def test_a_repeated_call_gets_the_same_trials(katib_server):
    """A controller that lost an answer asks again with the same request: the same
    trials come back, not new ones; after a restart too."""
    katib = Katib(katib_address(katib_server))
    ctl = Controller(experiment("random"))
    request = ctl.request(3)
    first = katib.get_suggestions(request, timeout=60)
    again = katib.get_suggestions(request, timeout=60)
    assert first == again
    katib.close()
    katib_server.stop()
    katib_server.start()
    katib = Katib(katib_address(katib_server))
    try:
        assert katib.get_suggestions(request, timeout=60) == first
        # The next round, with those three running, gets three others.
        ctl.take(first)
        nxt = katib.get_suggestions(ctl.request(3), timeout=60)
        old = {tuple(sorted(params_of(t).items())) for t in ctl.trials}
        new = {tuple(sorted((a.name, a.value) for a in p.assignments)) for p in nxt.parameter_assignments}
        assert len(new) == 3 and not old & new
    finally:
        katib.close()


def test_trials_hpo_did_not_suggest_are_taken_in(katib_server):
    """Trials Katib ran before (default names): completed ones teach the algorithm,
    running ones are not suggested again, and a second round adds nothing twice."""
    pb = katib_pb()
    katib = Katib(katib_address(katib_server))
    try:
        exp = experiment("random")
        ctl = Controller(exp)
        configs = [("l2", "0.001", "0.01", "3"), ("l2", "0.0001", "0.50", "5"), ("l2", "0.00001", "1.00", "10")]
        for i, (penalty, tol, c, it) in enumerate(configs):
            t = pb.Trial(name=f"katib-experiment-abcd{i}xyz")
            for k, v in zip(("penalty", "tol", "C", "max_iter"), (penalty, tol, c, it)):
                t.spec.parameter_assignments.assignments.add(name=k, value=v)
            t.status.condition = pb.TrialStatus.RUNNING
            ctl.trials.append(t)
        ctl.finish(ctl.trials[0], 0.9)
        for _ in range(2):  # the same list twice: idempotent
            reply = katib.get_suggestions(ctl.request(5), timeout=60)
            assert len(reply.parameter_assignments) == 5
            taken = {tuple(sorted((a.name, a.value) for a in p.assignments)) for p in reply.parameter_assignments}
            listed = {tuple(sorted(params_of(t).items())) for t in ctl.trials}
            assert not taken & listed
    finally:
        katib.close()


def test_validate_algorithm_settings_names_each_bad_setting(katib_server):
    pb = katib_pb()
    katib = Katib(katib_address(katib_server))
    bad = [
        ("random", [("no_such_setting", "1")], "no_such_setting"),
        ("tpe", [("n_startup_trials", "abc")], "n_startup_trials"),
        ("tpe", [("n_ei_candidates", "0")], "n_ei_candidates"),
        ("multivariate-tpe", [("gamma", "2")], "gamma"),
        ("bayesianoptimization", [("n_initial_points", "-3")], "n_initial_points"),
        ("bayesianoptimization", [("kappa", "x")], "kappa"),
        ("bayesianoptimization", [("base_estimator", "RF")], "base_estimator"),
        ("bayesianoptimization", [("acq_func", "UCB")], "acq_func"),
        ("cmaes", [("sigma", "-1")], "sigma"),
        ("cmaes", [("restart_strategy", "sometimes")], "restart_strategy"),
        ("tpe", [("random_state", "minus one")], "random_state"),
        ("simulated-annealing", [], "simulated-annealing"),
        ("enas", [], "enas"),
    ]
    try:
        for algorithm, settings, named in bad:
            request = pb.ValidateAlgorithmSettingsRequest(experiment=experiment(algorithm, settings))
            with pytest.raises(grpc.RpcError) as e:
                katib.validate_algorithm(request, timeout=60)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (algorithm, e.value)
            assert named in e.value.details(), (algorithm, settings, e.value.details())
            # GetSuggestions refuses the same spec alike.
            with pytest.raises(grpc.RpcError) as e:
                katib.get_suggestions(Controller(experiment(algorithm, settings)).request(1), timeout=60)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        good = [
            ("random", [("random_state", "3")]),
            ("tpe", [("n_startup_trials", "5"), ("n_ei_candidates", "24"), ("random_state", "1")]),
            ("multivariate-tpe", [("n_startup_trials", "5")]),
            ("bayesianoptimization", [("n_initial_points", "5"), ("random_state", "2")]),
            (
                "bayesianoptimization",
                [("base_estimator", "GP"), ("acq_func", "gp_hedge"), ("acq_optimizer", "auto")],
            ),
            ("cmaes", [("sigma", "0.2"), ("restart_strategy", "ipop"), ("random_state", "1")]),
            ("grid", []),
            ("sobol", []),
            ("gp", []),
            ("auto", []),
        ]
        for algorithm, settings in good:
            request = pb.ValidateAlgorithmSettingsRequest(experiment=experiment(algorithm, settings))
            katib.validate_algorithm(request, timeout=60)
        # A bad search space is named by its path in the Experiment.
        exp = experiment("random", parameters=[("x", "INT", {"min": "5", "max": "1"})])
        with pytest.raises(grpc.RpcError) as e:
            katib.validate_algorithm(pb.ValidateAlgorithmSettingsRequest(experiment=exp), timeout=60)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec.parameters[0].feasibleSpace.min" in e.value.details()
    finally:
        katib.close()


def test_health_serves_katibs_names(katib_server):
    katib = Katib(katib_address(katib_server))
    try:
        assert katib.health("manager.v1beta1.Suggestion") == 1  # SERVING
        assert katib.health("manager.v1beta1.EarlyStopping") == 1
        assert katib.health("") == 1
        with pytest.raises(grpc.RpcError) as e:
            katib.health("no.such.Service")
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        katib.close()


def test_hpos_own_api_is_not_on_katibs_port(katib_server):
    channel = grpc.insecure_channel(katib_address(katib_server))
    try:
        call = channel.unary_unary("/hpo.v1.HpoService/ListExperiments")
        with pytest.raises(grpc.RpcError) as e:
            call(b"", timeout=10)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        channel.close()


def curve_trial(name: str, values: Sequence[float], condition: str):
    pb = katib_pb()
    t = pb.Trial(name=name)
    t.status.condition = pb.TrialStatus.TrialConditionType.Value(condition)
    for v in values:
        t.status.observation.metrics.add(name="accuracy", value=str(v))
    return t


def stops(rule, values: Sequence[float]) -> bool:
    """Whether Katib's metrics collector stops a trial reporting `values` (step 1, 2,
    ...) under `rule`."""
    pb = katib_pb()
    for step, v in enumerate(values, start=1):
        if step < rule.start_step:
            continue
        limit = float(rule.value)
        if rule.comparison == pb.LESS and v < limit:
            return True
        if rule.comparison == pb.GREATER and v > limit:
            return True
    return False


def test_medianstop_rules_stop_the_weak_curves(katib_server):
    pb = katib_pb()
    katib = Katib(katib_address(katib_server))
    settings = [("min_trials_required", "3"), ("start_step", "2")]
    exp = experiment("random", early_stopping=("medianstop", settings))
    try:
        katib.validate_early_stopping(
            pb.ValidateEarlyStoppingSettingsRequest(early_stopping=exp.spec.early_stopping), timeout=60
        )
        done = [
            curve_trial("good-1", [0.70, 0.80, 0.90, 0.95], "SUCCEEDED"),
            curve_trial("good-2", [0.60, 0.72, 0.85, 0.90], "SUCCEEDED"),
        ]
        request = pb.GetEarlyStoppingRulesRequest(experiment=exp, trials=done)
        assert list(katib.get_rules(request, timeout=60).early_stopping_rules) == []  # 2 < 3
        done.append(curve_trial("good-3", [0.50, 0.60, 0.80, 0.85], "SUCCEEDED"))
        done.append(curve_trial("running", [0.1], "RUNNING"))
        rules = katib.get_rules(pb.GetEarlyStoppingRulesRequest(experiment=exp, trials=done), timeout=60)
        assert len(rules.early_stopping_rules) == 1
        rule = rules.early_stopping_rules[0]
        assert rule.name == "accuracy" and rule.comparison == pb.LESS and rule.start_step == 2
        assert float(rule.value) == pytest.approx(0.66)  # median of 0.75, 0.66, 0.55
        assert stops(rule, [0.30, 0.35, 0.40])  # weak
        assert stops(rule, [0.65, 0.60, 0.62])
        assert not stops(rule, [0.50, 0.70, 0.80])  # slow start, strong later
        assert not stops(rule, [0.75, 0.85, 0.90])
        katib.set_trial_status(pb.SetTrialStatusRequest(trial_name="weak-1"), timeout=60)

        bad = [
            ("medianstop", [("start_step", "0")], "start_step"),
            ("medianstop", [("min_trials_required", "many")], "min_trials_required"),
            ("medianstop", [("patience", "3")], "patience"),
            ("asha", [], "asha"),
        ]
        for name, s, named in bad:
            spec = pb.EarlyStoppingSpec(algorithm_name=name)
            for k, v in s:
                spec.algorithm_settings.add(name=k, value=v)
            with pytest.raises(grpc.RpcError) as e:
                katib.validate_early_stopping(
                    pb.ValidateEarlyStoppingSettingsRequest(early_stopping=spec), timeout=60
                )
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert named in e.value.details()
    finally:
        katib.close()


def test_goal_reached_completes(katib_server):
    """The objective's goal, once a trial reaches it, completes hpo's experiment: more
    suggestions are refused with FAILED_PRECONDITION saying so."""
    katib = Katib(katib_address(katib_server))
    try:
        exp = experiment("random", goal=0.7)
        ctl = Controller(exp)
        (trial,) = ctl.take(katib.get_suggestions(ctl.request(1), timeout=60))
        ctl.finish(trial, 0.75)
        with pytest.raises(grpc.RpcError) as e:
            katib.get_suggestions(ctl.request(1), timeout=60)
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "COMPLETED" in e.value.details() or "target" in e.value.details()
    finally:
        katib.close()


def test_checked_in_descriptor_is_the_wheels():
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet()
    katib_pb().DESCRIPTOR.CopyToProto(files.file.add())
    checked_in = (REPO_ROOT / "third_party/katib/api.pb").read_bytes()
    assert files.SerializeToString(deterministic=True) == checked_in


def test_a_server_that_lost_its_database_carries_on(tmp_path):
    """A suggestion pod restarted without its volume starts from an empty database: the
    trial list rebuilds hpo's history, and the new Trials' names are not the old ones'."""
    first = Server(tmp_path / "a", args=["--katib_port=0"])
    (tmp_path / "a").mkdir()
    first.start()
    exp = experiment("tpe")
    ctl = Controller(exp)
    try:
        k = Katib(katib_address(first))
        for _ in range(3):
            ctl.take(k.get_suggestions(ctl.request(ctl.wanted()), timeout=60))
            ctl.finish(ctl.running()[0], accuracy(params_of(ctl.running()[0])))
        k.close()
    finally:
        first.stop()
    second = Server(tmp_path / "b", args=["--katib_port=0"])
    (tmp_path / "b").mkdir()
    second.start()
    try:
        k = Katib(katib_address(second))
        running = {tuple(sorted(params_of(t).items())) for t in ctl.running()}
        names = {t.name for t in ctl.trials}
        n = ctl.wanted()
        assert n > 0
        reply = k.get_suggestions(ctl.request(n), timeout=60)
        assert len(reply.parameter_assignments) == n
        for a in reply.parameter_assignments:
            assert a.trial_name not in names
            assert tuple(sorted((x.name, x.value) for x in a.assignments)) not in running
        k.close()
    finally:
        second.stop()


def test_medianstop_reads_curves_from_katibs_db_manager(katib_server):
    """With db_manager_address set (as Katib's controller sets it), the succeeded
    trials' curves come from Katib's DB manager, as Katib's medianstop reads them."""
    from concurrent import futures

    pb = katib_pb()
    logs = {
        "t1": [0.70, 0.80, 0.90],
        "t2": [0.60, 0.72, 0.85],
        "t3": [0.50, 0.60, 0.80],
    }
    asked = []

    def get_log(request, context):
        asked.append((request.trial_name, request.metric_name))
        reply = pb.GetObservationLogReply()
        for i, v in enumerate(logs[request.trial_name]):
            reply.observation_log.metric_logs.add(
                time_stamp=f"2026-12-08T00:00:0{i}Z",
                metric=pb.Metric(name=request.metric_name, value=str(v)),
            )
        return reply

    handler = grpc.method_handlers_generic_handler(
        "api.v1.beta1.DBManager",
        {
            "GetObservationLog": grpc.unary_unary_rpc_method_handler(
                get_log,
                request_deserializer=pb.GetObservationLogRequest.FromString,
                response_serializer=pb.GetObservationLogReply.SerializeToString,
            )
        },
    )
    db = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    db.add_generic_rpc_handlers((handler,))
    db_port = db.add_insecure_port("127.0.0.1:0")
    db.start()
    katib = Katib(katib_address(katib_server))
    try:
        exp = experiment(
            "random", early_stopping=("medianstop", [("min_trials_required", "3"), ("start_step", "2")])
        )
        # What the controller lists: each trial's latest value only.
        trials = [curve_trial(name, [values[-1]], "SUCCEEDED") for name, values in logs.items()]
        trials.append(curve_trial("running", [0.2], "RUNNING"))
        request = pb.GetEarlyStoppingRulesRequest(
            experiment=exp, trials=trials, db_manager_address=f"127.0.0.1:{db_port}"
        )
        (rule,) = katib.get_rules(request, timeout=60).early_stopping_rules
        assert float(rule.value) == pytest.approx(0.66)  # median of 0.75, 0.66, 0.55
        assert sorted(asked) == [("t1", "accuracy"), ("t2", "accuracy"), ("t3", "accuracy")]
        # A finished trial's log is read once.
        katib.get_rules(request, timeout=60)
        assert len(asked) == 3
    finally:
        katib.close()
        db.stop(None)
