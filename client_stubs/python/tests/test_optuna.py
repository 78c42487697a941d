"""hpo_client.optuna (HpoSampler, HpoPruner) in real Optuna studies against the real
server: the shapes of Optuna's tutorial, checked against what hpo recorded."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Dict

import pytest

optuna = pytest.importorskip("optuna", reason="optuna is in requirements-dev.txt")
from optuna.distributions import FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from conftest import PYTHON_DIR  # noqa: E402
from hpo_client import (  # noqa: E402
    Client,
    FailedPreconditionError,
    Trial,
    UnavailableError,
    uniform,
)
from hpo_client.optuna import (  # noqa: E402
    ATTR_EXPERIMENT,
    TAG_METRIC,
    HpoPruner,
    HpoSampler,
    infer_search_space,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

_HPO_STATE = {
    TrialState.COMPLETE: "COMPLETED",
    TrialState.PRUNED: "PRUNED",
    TrialState.FAIL: "FAILED",
}


def hpo_trials(sampler: HpoSampler, study) -> Dict[int, Trial]:
    """The current experiment's trials by the Optuna trial number they carry."""
    out = {}
    for t in sampler.experiment(study).trials():
        if TAG_METRIC in t.metrics:
            n = int(t.metrics[TAG_METRIC])
            assert n not in out, f"Optuna trial {n} recorded twice"
            out[n] = t
    return out


def assert_mirrors(sampler: HpoSampler, study, expect_all: bool = True) -> Dict[int, Trial]:
    """Every finished Optuna trial is on hpo with the same parameters, state and values."""
    exp = sampler.experiment(study)
    names = [o for o, _ in exp.objectives]
    got = hpo_trials(sampler, study)
    finished = [t for t in study.trials if t.state in _HPO_STATE]
    if expect_all:
        assert sorted(got) == [t.number for t in finished]
    for t in finished:
        if t.number not in got:
            continue
        h = got[t.number]
        assert h.state == _HPO_STATE[t.state] or (
            t.state == TrialState.PRUNED and h.state == "FAILED"  # AddTrial has no PRUNED
        ), (t.number, t.state, h.state)
        for k, v in h.params.items():
            assert k in t.params, (t.number, k)
            if isinstance(v, float):
                assert math.isclose(v, t.params[k], rel_tol=1e-9), (t.number, k, v, t.params[k])
            else:
                assert str(v) == str(t.params[k]), (t.number, k, v, t.params[k])
        if t.state == TrialState.COMPLETE:
            assert [h.metrics[n] for n in names] == pytest.approx(t.values)
    return got


def test_conditional_space_a_categorical_branch(address):
    def objective(trial):
        classifier = trial.suggest_categorical("classifier", ["SVC", "RandomForest"])
        if classifier == "SVC":
            c = trial.suggest_float("svc_c", 1e-10, 1e10, log=True)
            return abs(math.log10(c) - 2)
        depth = trial.suggest_int("rf_max_depth", 2, 32, log=True)
        return abs(depth - 7) / 3

    sampler = HpoSampler(address, seed=1)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=25)
    exp = sampler.experiment(study)
    params = {p.name: p for p in exp.spec.parameters}
    assert set(params) == {"classifier", "svc_c", "rf_max_depth"}
    assert params["svc_c"].condition.parent == "classifier"
    assert [v.string_value for v in params["svc_c"].condition.values] == ["SVC"]
    assert [v.string_value for v in params["rf_max_depth"].condition.values] == ["RandomForest"]
    assert params["svc_c"].double_range.log and params["rf_max_depth"].int_range.log
    assert study._storage.get_study_system_attrs(study._study_id)[ATTR_EXPERIMENT] == exp.name
    got = assert_mirrors(sampler, study)
    assert len(got) == 25
    # Most trials were hpo's own suggestions (the first few: before the branch was known).
    suggested = [t for t in got.values() if t.proto.origin == t.proto.SUGGESTED]
    assert len(suggested) >= 15


def test_nested_branches(address):
    def objective(trial):
        model = trial.suggest_categorical("model", ["nn", "tree"])
        if model == "tree":
            return abs(trial.suggest_int("depth", 1, 10) - 4)
        opt = trial.suggest_categorical("opt", ["adam", "sgd"])
        loss = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        if opt == "sgd":
            loss += trial.suggest_float("momentum", 0.0, 0.99)
        return loss

    sampler = HpoSampler(address, seed=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30)
    params = {p.name: p for p in sampler.experiment(study).spec.parameters}
    cond = {n: (p.condition.parent, [v.string_value for v in p.condition.values])
            for n, p in params.items() if p.HasField("condition")}
    assert "model" in params and not params["model"].HasField("condition")
    assert cond["depth"] == ("model", ["tree"])
    assert cond["opt"][0] == "model" and cond["lr"][0] == "model"
    assert cond["momentum"] == ("opt", ["sgd"]), "nested under a conditional parent"
    got = assert_mirrors(sampler, study)
    assert len(got) == 30
    for h in got.values():
        assert ("momentum" in h.params) == (h.params.get("opt") == "sgd")


def test_a_finite_space_tried_in_full_stops_the_study(address):
    def objective(trial):
        a = trial.suggest_categorical("a", ["x", "y"])
        b = trial.suggest_int("b", 1, 3)
        return b + (a == "y")

    sampler = HpoSampler(address)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30)
    assert 6 <= len(study.trials) < 10, "stopped once hpo had tried all 6"
    configs = {(t.params["a"], t.params["b"]) for t in study.trials}
    assert len(configs) == 6
    assert sampler.experiment(study).state == "COMPLETED"
    assert_mirrors(sampler, study)


def test_a_finite_part_of_a_larger_space_tried_in_full_goes_on(address, caplog):
    def objective(trial):
        a = trial.suggest_categorical("a", ["x", "y"])
        # A range that changes every trial: never in the space, always sampled by Optuna.
        z = trial.suggest_float("z", 0, 1 + trial.number)
        return z + (a == "y")

    sampler = HpoSampler(address)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=8)
    assert len(study.trials) == 8 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert [p.name for p in sampler.experiment(study).spec.parameters] == ["a"]
    assert "until the space grows" in caplog.text
    assert_mirrors(sampler, study)


def test_integers_logs_and_steps(address):
    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        n = trial.suggest_int("n", 1, 100, log=True)
        k = trial.suggest_int("k", 0, 20, step=4)
        s = trial.suggest_float("s", 0.0, 1.0, step=0.25)
        assert k % 4 == 0 and s in (0.0, 0.25, 0.5, 0.75, 1.0)
        return (x - 2) ** 2 + abs(math.log10(lr) + 3) + abs(n - 10) / 10 + k / 20 + s

    sampler = HpoSampler(address, algorithm="tpe", seed=2)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=20)
    exp = sampler.experiment(study)
    assert exp.spec.algorithm.name == "tpe"
    params = {p.name: p for p in exp.spec.parameters}
    assert params["lr"].double_range.log and params["n"].int_range.log
    assert params["k"].int_range.step == 4 and params["s"].double_range.step == 0.25
    got = assert_mirrors(sampler, study)
    assert len(got) == 20
    for t in study.trials:
        assert isinstance(t.params["n"], int) and isinstance(t.params["k"], int)


def test_two_objectives(address):
    def objective(trial):
        x = trial.suggest_float("x", 0, 5)
        y = trial.suggest_float("y", 0, 3)
        return 4 * x**2 + 4 * y**2, (x - 5) ** 2 + (y - 5) ** 2

    sampler = HpoSampler(address)
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    study.optimize(objective, n_trials=12)
    exp = sampler.experiment(study)
    assert exp.objectives == [("value_0", "minimize"), ("value_1", "maximize")]
    got = assert_mirrors(sampler, study)
    assert len(got) == 12
    assert exp.best_trials(), "hpo has a Pareto front"


def test_pruned_learning_curve(address):
    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        quality = -abs(math.log10(lr) + 2)  # best at lr = 0.01
        acc = 0.0
        for step in range(10):
            acc = quality + 0.1 * step
            trial.report(acc, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return acc

    sampler = HpoSampler(address, seed=3)
    study = optuna.create_study(
        direction="maximize",
        sampler=sampler,
        pruner=HpoPruner("median", n_startup_trials=3, n_warmup_steps=2),
    )
    study.optimize(objective, n_trials=30)
    exp = sampler.experiment(study)
    assert exp.spec.early_stopping.name == "median"
    assert exp.spec.early_stopping.settings["n_warmup_steps"] == "2"
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert len(pruned) > 0
    got = assert_mirrors(sampler, study)
    ran = [got[t.number] for t in study.trials if got[t.number].proto.origin != 3]
    assert ran, "trials ran on hpo"
    for h in ran:
        t = study.trials[int(h.metrics[TAG_METRIC])]
        steps = [iv.step for iv in h.proto.intermediate_values]
        assert steps == sorted(t.intermediate_values), "hpo saw every intermediate value"
        assert [iv.metrics["value"] for iv in h.proto.intermediate_values] == pytest.approx(
            [t.intermediate_values[s] for s in steps]
        )
        if t.state == TrialState.PRUNED:
            assert h.state == "PRUNED" and h.proto.prune_reason
            assert h.metrics["value"] == pytest.approx(t.intermediate_values[max(steps)])


def test_enqueue_trial_full_and_partial(address):
    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_int("y", 0, 10)
        return x**2 + y

    sampler = HpoSampler(address)
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({"x": 1.5, "y": 3})  # before any space is known
    study.optimize(objective, n_trials=3)
    study.enqueue_trial({"x": -2.0, "y": 7})  # every parameter fixed
    study.enqueue_trial({"x": 0.25})  # hpo fills in y
    study.optimize(objective, n_trials=4)
    trials = study.trials
    assert trials[0].params == {"x": 1.5, "y": 3}
    assert trials[3].params == {"x": -2.0, "y": 7}
    assert trials[4].params["x"] == 0.25
    got = assert_mirrors(sampler, study)
    assert len(got) == 7
    assert got[3].proto.origin == got[3].proto.ADDED
    assert got[4].proto.origin == got[4].proto.ENQUEUED and got[4].params["x"] == 0.25
    assert got[4].params["y"] == trials[4].params["y"]


def test_a_trial_that_ran_other_values_hands_hpos_back(address):
    """An enqueued value outside the space (Optuna warns and runs it): hpo's trial
    for it is handed back, and the next trial runs it."""

    def objective(trial):
        return trial.suggest_float("x", -5, 5) ** 2 + trial.suggest_int("y", 0, 3)

    sampler = HpoSampler(address)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3)
    with pytest.warns(UserWarning, match="out of range"):
        study.enqueue_trial({"x": 20.0}, skip_if_exists=False)
        study.optimize(objective, n_trials=1)
    study.optimize(objective, n_trials=1)
    odd, after = study.trials[3], study.trials[4]
    assert odd.params["x"] == 20.0
    handed_back = odd.system_attrs["hpo:trial"]["number"]
    got = assert_mirrors(sampler, study, expect_all=False)
    assert 3 not in got, "a value outside hpo's space is not recorded there"
    assert sorted(got) == [0, 1, 2, 4]
    assert got[4].number == handed_back and after.system_attrs["hpo:trial"]["number"] == handed_back
    assert sampler.experiment(study).status.running == 0


def test_add_trial_warm_starts(address):
    def objective(trial):
        return (trial.suggest_float("x", 0, 10) - 3) ** 2

    sampler = HpoSampler(address)
    study = optuna.create_study(sampler=sampler)
    dist = {"x": FloatDistribution(0, 10)}
    for x in (1.0, 3.5, 8.0):
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions=dist,
                                                  value=(x - 3) ** 2))
    study.add_trial(optuna.trial.create_trial(params={"x": 5.0}, distributions=dist,
                                              state=TrialState.FAIL))
    study.optimize(objective, n_trials=4)
    study.add_trial(optuna.trial.create_trial(params={"x": 2.0}, distributions=dist, value=1.0))
    study.optimize(objective, n_trials=2)
    got = assert_mirrors(sampler, study)
    assert sorted(got) == list(range(11))
    for n in (0, 1, 2, 3, 8):
        assert got[n].proto.origin == got[n].proto.ADDED
    assert got[3].state == "FAILED"
    assert got[8].params == {"x": 2.0} and got[8].metrics["value"] == 1.0


def test_n_jobs_4_share_one_experiment(address):
    seen = []
    lock = threading.Lock()

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        y = trial.suggest_categorical("y", ["a", "b", "c"])
        with lock:
            seen.append(trial.number)
        if trial.number % 9 == 8:
            raise ValueError("a failing trial")
        return x**2 + {"a": 0, "b": 1, "c": 2}[y]

    sampler = HpoSampler(address)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=40, n_jobs=4, catch=(ValueError,))
    assert len(study.trials) == 40
    got = assert_mirrors(sampler, study)
    assert len(got) == 40
    numbers = [h.number for h in got.values()]
    assert len(set(numbers)) == 40, "every Optuna trial its own hpo trial"
    assert sum(h.state == "FAILED" for h in got.values()) == sum(
        t.state == TrialState.FAIL for t in study.trials
    )
    workers = [t.system_attrs["hpo:trial"]["worker_id"] for t in study.trials
               if "hpo:trial" in t.system_attrs]
    assert len(set(workers)) == len(workers)
    exp = sampler.experiment(study)
    assert exp.status.running == 0


_RESUME = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {pkg!r})
    import optuna
    from hpo_client.optuna import HpoSampler
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = HpoSampler({address!r})
    study = optuna.create_study(study_name="resume-me", storage={storage!r},
                                load_if_exists=True, sampler=sampler)
    def objective(trial):
        return (trial.suggest_float("x", -4, 4) - 1) ** 2 + trial.suggest_int("n", 1, 8)
    study.optimize(objective, n_trials=int(sys.argv[1]))
    print(json.dumps({{"experiments": sampler.experiments(study), "trials": len(study.trials)}}))
    """
)


def test_rdb_study_resumed_in_a_new_process_reattaches(address, tmp_path: Path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    script = tmp_path / "run.py"
    script.write_text(_RESUME.format(pkg=str(PYTHON_DIR), address=address, storage=storage))

    def run(n: int) -> dict:
        out = subprocess.run([sys.executable, str(script), str(n)], capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run(8)
    second = run(7)
    assert first["trials"] == 8 and second["trials"] == 15
    assert second["experiments"] == first["experiments"], "re-attached, no new experiment"
    study = optuna.load_study(study_name="resume-me", storage=storage)
    sampler = HpoSampler(address)
    assert sampler.experiments(study) == first["experiments"]
    got = assert_mirrors(sampler, study)
    assert len(got) == 15


def test_two_processes_share_one_rdb_study(address, tmp_path: Path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(study_name="resume-me", storage=storage)  # made once, up front
    script = tmp_path / "run.py"
    script.write_text(_RESUME.format(pkg=str(PYTHON_DIR), address=address, storage=storage))
    procs = [subprocess.Popen([sys.executable, str(script), "10"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    study = optuna.load_study(study_name="resume-me", storage=storage)
    assert len(study.trials) == 20
    sampler = HpoSampler(address)
    got = assert_mirrors(sampler, study)
    assert len(got) == 20


def test_ask_here_tell_elsewhere(address, tmp_path: Path):
    """Optuna's ask-and-tell across processes: the hpo trial is found from the trial's
    system attributes (a second sampler stands for the other process)."""
    storage = f"sqlite:///{tmp_path / 'ask-tell.db'}"
    here = optuna.create_study(study_name="s", storage=storage, direction="maximize",
                               sampler=HpoSampler(address),
                               pruner=HpoPruner("threshold", lower=0.5))
    here.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    asked = [here.ask() for _ in range(2)]
    xs = [t.suggest_float("x", 0, 1) for t in asked]
    elsewhere_sampler = HpoSampler(address)
    elsewhere = optuna.load_study(study_name="s", storage=storage, sampler=elsewhere_sampler,
                                  pruner=HpoPruner("threshold", lower=0.5))
    elsewhere.tell(asked[0].number, xs[0])
    # Pruning asked elsewhere: a FrozenTrial with the intermediate value, as a worker
    # process sees it.
    asked[1].report(0.1, step=0)
    frozen = elsewhere._storage.get_trial(asked[1]._trial_id)
    assert elsewhere.pruner.prune(elsewhere, frozen) is True, "below the threshold"
    elsewhere.tell(asked[1].number, state=TrialState.PRUNED)
    got = assert_mirrors(elsewhere_sampler, elsewhere)
    assert len(got) == 4
    assert got[2].proto.origin == got[2].proto.SUGGESTED and got[2].state == "COMPLETED"
    assert got[3].state == "PRUNED" and got[3].metrics["value"] == 0.1
    assert elsewhere_sampler.experiment(elsewhere).status.running == 0


def test_hpo_pruner_needs_hpo_sampler():
    study = optuna.create_study(pruner=HpoPruner())

    def objective(trial):
        trial.report(1.0, 0)
        return trial.should_prune()

    with pytest.raises(TypeError, match="HpoSampler"):
        study.optimize(objective, n_trials=1)


def test_unreachable_server_raises_at_first_ask():
    sampler = HpoSampler("127.0.0.1:1", retry_timeout=0.5, timeout=2)
    study = optuna.create_study(sampler=sampler)
    calls = []
    with pytest.raises(UnavailableError, match="HpoSampler: hpo at 127.0.0.1:1"):
        study.optimize(lambda t: calls.append(t) or t.suggest_float("x", 0, 1), n_trials=3)
    assert calls == [], "the objective never ran"
    assert [t.state for t in study.trials] == [TrialState.FAIL], "no RUNNING trial left"


def test_unreachable_server_with_an_explicit_fallback():
    sampler = HpoSampler("127.0.0.1:1", retry_timeout=0.2, timeout=1,
                         fallback=optuna.samplers.RandomSampler(seed=0))
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3


def test_an_hpo_error_raises_at_ask(address, client, name):
    client.create_experiment(name, space={"x": uniform(0, 1)}, objective="value",
                             goal="minimize", max_trials=1)
    client.experiment(name).stop()
    sampler = HpoSampler(address, experiment=name, search_space={"x": FloatDistribution(0, 1)})
    study = optuna.create_study(sampler=sampler)
    with pytest.raises(FailedPreconditionError, match=f"HpoSampler: hpo at .*{name}"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAIL]


def test_space_grows_when_a_new_parameter_becomes_stable(address):
    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        if trial.number >= 6:  # the code changed mid-study
            return x**2 + trial.suggest_int("extra", 0, 4)
        return x**2

    sampler = HpoSampler(address, stable_trials=3)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=14)
    names = sampler.experiments(study)
    assert len(names) == 2 and names[1].endswith("-g2")
    client = sampler.client
    first = [p.name for p in client.experiment(names[0]).spec.parameters]
    second = [p.name for p in client.experiment(names[1]).spec.parameters]
    assert first == ["x"] and sorted(second) == ["extra", "x"]
    # The first generation keeps the trials it ran; the second has every trial that
    # has "extra" (warm-started, then its own).
    old = {int(t.metrics[TAG_METRIC]) for t in client.experiment(names[0]).trials()}
    assert set(range(6)) <= old
    got = assert_mirrors(sampler, study, expect_all=False)
    assert sorted(got) == list(range(6, 14))
    assert any(h.proto.origin == h.proto.SUGGESTED and "extra" in h.params for h in got.values())


def test_search_space_given_up_front_and_client_settings(address, monkeypatch):
    client = Client(address)
    sampler = HpoSampler(client, search_space={"a": IntDistribution(1, 64, log=True)})
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda t: t.suggest_int("a", 1, 64, log=True), n_trials=3)
    got = assert_mirrors(sampler, study)
    assert all(h.proto.origin == h.proto.SUGGESTED for h in got.values()), "from trial 0"
    with pytest.raises(TypeError):
        HpoSampler(client, token="t")
    assert HpoSampler(address, token="secret").client._has_token
    monkeypatch.setenv("HPO_TOKEN", "from-env")
    assert HpoSampler(address).client._has_token


def test_infer_search_space_helper():
    dist = FloatDistribution(0, 1)
    cat = optuna.distributions.CategoricalDistribution(["a", "b", None])
    both = {"c": cat, "x": dist}
    trials = [
        optuna.trial.create_trial(params={"c": "a", "x": 0.5}, distributions=both, value=1),
        optuna.trial.create_trial(params={"c": None}, distributions={"c": cat}, value=2),
        optuna.trial.create_trial(params={"c": "b", "x": 0.1}, distributions=both, value=3),
    ]
    for i, t in enumerate(trials):
        t.number = i
    space, epoch = infer_search_space(trials)
    assert epoch == 0
    assert space["c"] == (cat, None)
    assert space["x"] == (dist, ("c", ["a", "b"]))


def test_package_imports_without_optuna(tmp_path: Path):
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(PYTHON_DIR)!r})
        sys.modules["optuna"] = None  # as if it were not installed
        import hpo_client
        try:
            import hpo_client.optuna
        except ImportError as e:
            print("ImportError:", e)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "hpo-client[optuna]" in out.stdout
