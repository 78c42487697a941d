"""An Optuna sampler and pruner backed by the hpo service.

Optuna code switches in one line; the study keeps its own storage (in-memory, RDB,
journal, ...) and hpo chooses the parameters and decides early stopping::

    from hpo_client.optuna import HpoPruner, HpoSampler

    study = optuna.create_study(
        sampler=HpoSampler("localhost:50051"),            # hpo's "auto" by default
        pruner=HpoPruner("median", n_warmup_steps=2),     # optional: hpo's early stopping
    )
    study.optimize(objective, n_trials=100)

How Optuna's define-by-run search space becomes an hpo experiment
------------------------------------------------------------------
Optuna learns the search space from the trials themselves. Before each trial the
sampler infers a space from the study's finished (COMPLETE and PRUNED) trials:

* a parameter suggested in every one of them, always with the same distribution, is
  an ordinary parameter of the space;
* a parameter suggested in only some of them is *conditional* when a categorical
  parameter of the space explains it: it was suggested exactly in the trials where the
  categorical took one of some values (``if trial.suggest_categorical("model", ...)
  == "svm": trial.suggest_float("svm_c", ...)``). It becomes an hpo conditional
  parameter (``condition {parent, values}``);
* anything else (a distribution that changed, a parameter nothing explains, one that
  appears before any trial finished) is sampled independently by Optuna's
  ``RandomSampler``, as Optuna's own relative samplers do, with one warning per
  parameter.

That space is an hpo experiment, a *generation*. When the inferred space changes (a
branch seen for the first time, a parameter that became stable), the sampler starts
the next generation: a new experiment (``<name>-g2``, ``-g3``, ...) with the new space,
warm-started with AddTrial from every finished trial of the study whose parameters are
legal in it. Earlier experiments keep their history. A parameter that appears later
(code that changed mid-study) becomes stable once it was suggested, with one
distribution, in each of the last ``stable_trials`` finished trials; the space is then
inferred from the trials since it appeared. The study's system attributes record the
generations (``hpo:experiment``, ``hpo:generations``), so a study reopened from its
storage, in this process or another, re-attaches to the same experiment.

Trials
------
Each Optuna trial that samples from the space is one hpo trial, leased under a worker
id of its own (so ``n_jobs > 1`` and several processes sharing one RDB study share one
experiment safely) and heartbeated while it runs. Its hpo trial is recorded in the
trial's system attributes (``hpo:trial``). Every finished Optuna trial is reported:
COMPLETE with its value(s), PRUNED with its last intermediate value, FAIL as failed.
Trials that hpo did not hand out (the first ones, before any space is known; trials of
``study.enqueue_trial`` that fix every parameter; trials of ``study.add_trial``;
trials another sampler ran) are recorded with AddTrial, tagged with the Optuna trial
number (metric ``optuna_trial``) so that they are recorded once. A trial enqueued with
only some parameters fixed is queued on hpo too (EnqueueTrial), so hpo fills the rest.

A finite space (only categoricals and integers) that hpo has handed out in full
(``auto``, ``random`` and ``grid`` never repeat a configuration) stops the study, as
Optuna's GridSampler does, when it is the whole study's space; when parameters outside
it make the study's space larger, trials go on with its parameters sampled by
``RandomSampler`` until the space grows.

Errors
------
An unreachable server or an hpo error raises at ``study.ask()`` (so at the first
trial of ``study.optimize``), never a silent fall back to random search, unless
``fallback=`` names a sampler to use while hpo cannot be reached.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

try:
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
        distribution_to_json,
        json_to_distribution,
    )
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.study import Study, StudyDirection
    from optuna.trial import FrozenTrial, TrialState
except ImportError as e:  # pragma: no cover - exercised without optuna installed
    raise ImportError(
        "hpo_client.optuna needs Optuna: pip install 'hpo-client[optuna]' "
        f"(or pip install optuna); importing it failed: {e}"
    ) from e

from . import space as hpo_space
from .client import Client, Experiment, _py_to_value
from .errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    HpoError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from .v1 import hpo_pb2 as pb

__all__ = ["HpoSampler", "HpoPruner", "infer_search_space"]

log = logging.getLogger("hpo_client.optuna")

# Study system attributes.
ATTR_EXPERIMENT = "hpo:experiment"
ATTR_GENERATIONS = "hpo:generations"
# Trial system attribute: {"experiment", "number", "worker_id"} of the trial's hpo trial.
ATTR_TRIAL = "hpo:trial"
# The metric every hpo trial of an Optuna trial carries: the Optuna trial's number.
TAG_METRIC = "optuna_trial"

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_ALL_DONE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
_NAME_OK = re.compile(r"^[A-Za-z0-9_./-]{1,128}$")


# -- the search space ------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One parameter of an inferred space: its distribution and, for a conditional one,
    (parent, indexes of the parent's choices it exists under)."""

    distribution: BaseDistribution
    condition: Optional[Tuple[str, Tuple[int, ...]]] = None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"distribution": distribution_to_json(self.distribution)}
        if self.condition is not None:
            out["parent"] = self.condition[0]
            out["values"] = list(self.condition[1])
        return out

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> "_Entry":
        cond = None
        if "parent" in d:
            cond = (str(d["parent"]), tuple(int(v) for v in d["values"]))
        return _Entry(json_to_distribution(d["distribution"]), cond)


Space = Dict[str, _Entry]


def _choice_index(d: CategoricalDistribution, value: Any) -> Optional[int]:
    try:
        return int(d.to_internal_repr(value))
    except ValueError:
        return None


class _Inference:
    """Counts over the finished trials of a window, kept up to date one trial at a
    time, from which the space is read (see the module's docstring)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.seen: Set[int] = set()
        self.n = 0
        # name -> its distribution, or None once it changed (dynamic).
        self.dists: Dict[str, Optional[BaseDistribution]] = {}
        self.present: Dict[str, int] = {}
        # categorical name -> choice index -> trials that took it.
        self.by_choice: Dict[str, Dict[int, int]] = {}
        # (name, categorical) -> choice index -> trials with ``name`` that took it.
        self.with_choice: Dict[Tuple[str, str], Dict[int, int]] = {}

    def add(self, t: FrozenTrial) -> None:
        if t.number in self.seen or t.number < self.epoch:
            return
        self.seen.add(t.number)
        self.n += 1
        choices: List[Tuple[str, int]] = []
        for name, d in t.distributions.items():
            if name not in t.params:
                continue
            if name not in self.dists:
                self.dists[name] = d
            elif self.dists[name] is not None and self.dists[name] != d:
                self.dists[name] = None
            self.present[name] = self.present.get(name, 0) + 1
            if isinstance(d, CategoricalDistribution):
                idx = _choice_index(d, t.params[name])
                if idx is not None:
                    choices.append((name, idx))
                    counts = self.by_choice.setdefault(name, {})
                    counts[idx] = counts.get(idx, 0) + 1
        for name in t.params:
            for parent, idx in choices:
                if parent != name:
                    counts = self.with_choice.setdefault((name, parent), {})
                    counts[idx] = counts.get(idx, 0) + 1

    def explains(self, name: str, parent: str) -> Optional[Tuple[int, ...]]:
        """The parent's choices under which ``name`` exists, if ``name`` was suggested
        exactly in the trials where ``parent`` took one of them; else None."""
        with_ = self.with_choice.get((name, parent))
        if not with_ or sum(with_.values()) != self.present.get(name, 0):
            return None  # never with it, or sometimes without it
        totals = self.by_choice.get(parent, {})
        if any(k != totals.get(idx, 0) for idx, k in with_.items()):
            return None  # absent from some trial that took one of those choices
        return tuple(sorted(with_))

    def space(self) -> Space:
        candidates = sorted(
            n for n, d in self.dists.items() if d is not None and not d.single()
        )
        space: Space = {}
        for name in candidates:
            if self.present[name] == self.n:
                space[name] = _Entry(self.dists[name])  # type: ignore[arg-type]
        changed = True
        while changed:
            changed = False
            for name in candidates:
                if name in space:
                    continue
                for parent, entry in list(space.items()):
                    if not isinstance(entry.distribution, CategoricalDistribution):
                        continue
                    under = self.explains(name, parent)
                    if under is not None:
                        dist = self.dists[name]
                        assert dist is not None
                        space[name] = _Entry(dist, (parent, under))
                        changed = True
                        break
        return space


def _infer(trials: Sequence[FrozenTrial], epoch: int = 0) -> Tuple[Space, _Inference]:
    inference = _Inference(epoch)
    for t in trials:
        if t.state in _FINISHED:
            inference.add(t)
    return inference.space(), inference


def infer_search_space(
    trials: Sequence[FrozenTrial], stable_trials: int = 5, epoch: int = 0,
    unstable: Sequence[str] = (),
) -> Tuple[Dict[str, Tuple[BaseDistribution, Optional[Tuple[str, List[Any]]]]], int]:
    """The search space HpoSampler infers from finished trials, for inspection.

    Returns ({name: (distribution, None or (parent, [parent choices]))}, epoch): the
    space and the number of the first trial it was inferred from.
    """
    space, epoch, _ = _target(list(trials), stable_trials, epoch, set(unstable))
    out = {}
    for name, e in space.items():
        cond = None
        if e.condition is not None:
            parent, under = e.condition
            pd = space[parent].distribution
            assert isinstance(pd, CategoricalDistribution)
            cond = (parent, [pd.choices[i] for i in under])
        out[name] = (e.distribution, cond)
    return out, epoch


def _target(
    finished: List[FrozenTrial], stable_trials: int, epoch: int, unstable: Set[str],
    cache: Optional[_Inference] = None,
) -> Tuple[Space, int, _Inference]:
    """The space of the finished trials since ``epoch``, the epoch, and the counts
    behind them (``cache``: those of an earlier call, brought up to date). A parameter
    outside the space that was suggested, with one distribution, in each of the last
    ``stable_trials`` finished trials (and never made a new epoch before) starts a new
    epoch at the first trial of that run."""
    window = sorted(
        (t for t in finished if t.state in _FINISHED and t.number >= epoch),
        key=lambda t: t.number,
    )
    inference = cache if cache is not None and cache.epoch == epoch else _Inference(epoch)
    for t in window:
        inference.add(t)
    space = inference.space()
    if stable_trials < 1 or len(window) < stable_trials:
        return space, epoch, inference
    last = window[-1]
    start = None
    for name, d in last.distributions.items():
        if name in space or name in unstable or d.single():
            continue
        run = 0
        for t in reversed(window):
            if t.distributions.get(name) != d:
                break
            run += 1
        if run >= stable_trials:
            first = window[len(window) - run].number
            start = first if start is None else max(start, first)
    if start is None:
        return space, epoch, inference
    space, inference = _infer(window, start)
    return space, start, inference


def _same_space(a: Space, b: Space) -> bool:
    return a == b


def _labels(d: CategoricalDistribution) -> List[str]:
    """hpo categorical labels for an Optuna categorical's choices: strings as they are,
    other choices by repr; indexes when those collide."""
    labels = [c if isinstance(c, str) else repr(c) for c in d.choices]
    if len(set(labels)) != len(labels):
        labels = [f"{i}:{lab}" for i, lab in enumerate(labels)]
    return labels


def _hpo_name(name: str, taken: Set[str]) -> str:
    """An hpo parameter name for an Optuna one: itself when legal, else a legal form
    with a hash of the original."""
    if _NAME_OK.match(name) and name not in taken:
        return name
    base = re.sub(r"[^A-Za-z0-9_./-]+", "_", name)[:100] or "p"
    return f"{base}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def _to_hpo_param(entry: _Entry, space: Space, names: Mapping[str, str]) -> hpo_space.Param:
    d = entry.distribution
    when = None
    if entry.condition is not None:
        parent, under = entry.condition
        pd = space[parent].distribution
        assert isinstance(pd, CategoricalDistribution)
        labels = _labels(pd)
        when = {names[parent]: [labels[i] for i in under]}
    if isinstance(d, FloatDistribution):
        if d.log:
            return hpo_space.loguniform(d.low, d.high, when=when)
        return hpo_space.uniform(d.low, d.high, step=d.step or 0, when=when)
    if isinstance(d, IntDistribution):
        return hpo_space.intrange(int(d.low), int(d.high), step=int(d.step), log=d.log, when=when)
    if isinstance(d, CategoricalDistribution):
        return hpo_space.choice(_labels(d), when=when)
    raise ValueError(f"HpoSampler: unsupported distribution {d!r}")


def _active(space: Space, params: Mapping[str, Any]) -> List[str]:
    """The names of ``space`` that are active given ``params`` (conditions checked
    against the parents' values, in the space's order)."""
    active: List[str] = []
    for name, e in space.items():
        if e.condition is None:
            active.append(name)
            continue
        parent, under = e.condition
        if parent in active and parent in params:
            pd = space[parent].distribution
            idx = _choice_index(pd, params[parent])  # type: ignore[arg-type]
            if idx in under:
                active.append(name)
    return active


def _legal(space: Space, params: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """``params`` restricted to the space's active parameters, or None when one is
    missing or out of its distribution."""
    out = {}
    for name in _active(space, params):
        if name not in params:
            return None
        d = space[name].distribution
        try:
            if not d._contains(d.to_internal_repr(params[name])):
                return None
        except (ValueError, TypeError):
            return None
        out[name] = params[name]
    return out


def _encode(d: BaseDistribution, value: Any) -> Union[float, int, str]:
    if isinstance(d, CategoricalDistribution):
        return _labels(d)[int(d.to_internal_repr(value))]
    if isinstance(d, IntDistribution):
        return int(value)
    return float(value)


def _decode(d: BaseDistribution, value: Any) -> Any:
    """hpo's value as Optuna's, inside the distribution: a value a rounding error off
    its bounds or grid would make Optuna sample the parameter independently."""
    if isinstance(d, CategoricalDistribution):
        labels = _labels(d)
        return d.choices[labels.index(str(value))]
    x = float(value)
    if isinstance(d, IntDistribution):
        k = round((x - d.low) / d.step)
        return int(min(max(d.low + k * d.step, d.low), d.high))
    assert isinstance(d, FloatDistribution)
    if d.step is not None:
        k = round((x - d.low) / d.step)
        x = d.low + k * d.step
        if x > d.high:
            x -= d.step
    return min(max(x, d.low), d.high)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


# -- per-process state -----------------------------------------------------------------


@dataclass
class _Generation:
    experiment: str
    space: Space
    names: Dict[str, str]  # Optuna name -> hpo name
    objectives: List[str]  # the experiment's metric names, in the study's order
    epoch: int = 0
    unstable: List[str] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        return {
            "experiment": self.experiment,
            "space": {k: e.to_json() for k, e in self.space.items()},
            "names": self.names,
            "objectives": self.objectives,
            "epoch": self.epoch,
            "unstable": self.unstable,
        }

    @staticmethod
    def from_json(d: Mapping[str, Any]) -> "_Generation":
        return _Generation(
            experiment=d["experiment"],
            space={k: _Entry.from_json(v) for k, v in d["space"].items()},
            names=dict(d["names"]),
            objectives=list(d["objectives"]),
            epoch=int(d.get("epoch", 0)),
            unstable=list(d.get("unstable", [])),
        )


@dataclass
class _Live:
    """The hpo trial an Optuna trial runs (in this process)."""

    generation: _Generation
    number: int
    worker_id: str
    params: Dict[str, Any]  # Optuna name -> Optuna value, as hpo gave them
    last_step: int = -1
    should_stop: bool = False


# -- the sampler -----------------------------------------------------------------------


class HpoSampler(BaseSampler):
    """An Optuna sampler whose suggestions come from an hpo experiment.

    Args:
        client_or_target: an :class:`hpo_client.Client`, or the server's ``host:port``
            (then ``token``, ``tls_ca``, ... below, or ``$HPO_TOKEN``, ``$HPO_TLS_CA``,
            ...).
        experiment: the hpo experiment's name (the first generation; later ones add
            ``-g2``, ``-g3``, ...). Default: from the study's name. A study that
            recorded its experiment re-attaches to it whatever this says.
        algorithm, settings: hpo's search algorithm (default ``"auto"``) and its
            settings, as for :meth:`Client.create_experiment`.
        seed: seeds hpo's algorithm and the independent sampler.
        search_space: Optuna distributions known up front (``{"x":
            FloatDistribution(0, 1)}``): the experiment uses them from the first trial
            and never changes its space.
        stable_trials: how many finished trials in a row a parameter outside the space
            must appear in to join it (see the module's docstring); 0 never.
        fallback: a sampler to use for a trial when hpo cannot be reached or refuses
            (a warning is logged). Default None: the error is raised at ``ask``.
        trial_lease: the experiment's ``trial_lease`` (seconds); the sampler
            heartbeats running trials at a third of it.
        experiment_options: more :meth:`Client.create_experiment` arguments
            (``max_failed_trials``, ``description``, ...).
        token, tls_ca, tls_cert, tls_key, timeout, retry_timeout, ...: for the
            :class:`Client` made from a target (a TypeError beside a Client).
    """

    def __init__(
        self,
        client_or_target: Union[Client, str] = "localhost:50051",
        *,
        experiment: Optional[str] = None,
        algorithm: Optional[str] = None,
        settings: Optional[Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        search_space: Optional[Mapping[str, BaseDistribution]] = None,
        stable_trials: int = 5,
        fallback: Optional[BaseSampler] = None,
        trial_lease: Optional[float] = None,
        experiment_options: Optional[Mapping[str, Any]] = None,
        **client_options: Any,
    ) -> None:
        if isinstance(client_or_target, Client):
            if client_options:
                raise TypeError(
                    f"HpoSampler: {sorted(client_options)} are Client settings; the "
                    "given Client already has its own"
                )
            self._client = client_or_target
        else:
            self._client = Client(client_or_target, **client_options)
        self._experiment_name = experiment
        self._algorithm = algorithm
        self._settings = dict(settings or {})
        self._seed = seed
        self._fixed_space: Optional[Space] = (
            {k: _Entry(d) for k, d in search_space.items() if not d.single()}
            if search_space
            else None
        )
        self._stable_trials = stable_trials
        self._fallback = fallback
        self._trial_lease = trial_lease
        self._experiment_options = dict(experiment_options or {})
        self._independent = RandomSampler(seed=seed)
        self._lock = threading.RLock()
        self._live: Dict[int, _Live] = {}  # by Optuna trial id
        self._fallen_back: Set[int] = set()
        self._warned: Set[str] = set()
        self._repeats: Set[int] = set()  # trials asked after the space was exhausted
        self._exhausted_experiments: Set[str] = set()
        self._reached = False
        self._generation: Optional[_Generation] = None
        self._finished_seen = -1
        self._inference: Optional[_Inference] = None
        # Experiment name -> Optuna trial numbers known to be recorded there.
        self._recorded: Dict[str, Set[int]] = {}
        self._heartbeat: Optional[threading.Thread] = None
        self._heartbeat_stop = threading.Event()

    # -- public helpers ----------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The client this sampler talks to hpo with."""
        return self._client

    def experiment(self, study: Study) -> Optional[Experiment]:
        """The study's current hpo experiment (None before any trial finished)."""
        gens = self._generations(study)
        return self._client.experiment(gens[-1].experiment) if gens else None

    def experiments(self, study: Study) -> List[str]:
        """The names of the study's hpo experiments, oldest first (one per generation)."""
        return [g.experiment for g in self._generations(study)]

    # -- BaseSampler ---------------------------------------------------------------------

    def reseed_rng(self) -> None:
        self._independent.reseed_rng()
        if self._fallback is not None:
            self._fallback.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        try:
            self._before_trial(study, trial)
        except HpoError as e:
            if self._fallback is not None:
                log.warning(
                    "trial %d: hpo at %s cannot be used (%s); this trial uses the "
                    "fallback sampler %s",
                    trial.number, self._client.target, e, self._fallback,
                )
                with self._lock:
                    self._fallen_back.add(trial._trial_id)
                self._fallback.before_trial(study, trial)
                return
            self._abandon(study, trial)
            message = f"HpoSampler: hpo at {self._client.target}: {e}"
            err = type(e)(message, method=e.method)
            raise err from e

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> Dict[str, BaseDistribution]:
        if trial._trial_id in self._fallen_back:
            assert self._fallback is not None
            return self._fallback.infer_relative_search_space(study, trial)
        live = self._live.get(trial._trial_id)
        if live is None:
            return {}
        return {k: live.generation.space[k].distribution for k in live.params}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: Dict[str, BaseDistribution]
    ) -> Dict[str, Any]:
        if trial._trial_id in self._fallen_back:
            assert self._fallback is not None
            return self._fallback.sample_relative(study, trial, search_space)
        live = self._live.get(trial._trial_id)
        if live is None:
            return {}
        return {k: v for k, v in live.params.items() if k in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if trial._trial_id in self._fallen_back:
            return self._fallback.sample_independent(  # type: ignore[union-attr]
                study, trial, param_name, param_distribution
            )
        if (
            self._generation is not None
            and param_name not in self._warned
            and trial._trial_id not in self._repeats
        ):
            self._warned.add(param_name)
            log.warning(
                "The parameter `%s` in Trial#%d is sampled independently using "
                "`RandomSampler` instead of `HpoSampler`: it is not in the hpo "
                "experiment's search space (yet). It joins it once it is suggested "
                "consistently (with one distribution, in every trial or under one "
                "branch of a categorical). This warning is given once per parameter.",
                param_name, trial.number,
            )
        return self._independent.sample_independent(
            study, trial, param_name, param_distribution
        )

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Optional[Sequence[float]],
    ) -> None:
        with self._lock:
            fallen = trial._trial_id in self._fallen_back
            self._fallen_back.discard(trial._trial_id)
            self._repeats.discard(trial._trial_id)
            live = self._live.pop(trial._trial_id, None)
        if fallen:
            self._fallback.after_trial(study, trial, state, values)  # type: ignore[union-attr]
            return
        try:
            if live is None:
                live = self._recorded_live(study, trial)
            self._report(study, trial, state, values, live)
        except HpoError as e:
            log.error(
                "trial %d: the result could not be recorded on hpo: %s", trial.number, e
            )

    def _recorded_live(self, study: Study, trial: FrozenTrial) -> Optional[_Live]:
        """The hpo trial of an Optuna trial another process asked for (``study.tell`` or
        ``trial.should_prune`` elsewhere), from the trial's system attributes."""
        record = trial.system_attrs.get(ATTR_TRIAL)
        if not record:
            return None
        for gen in self._generations(study):
            if gen.experiment == record["experiment"]:
                params = {k: v for k, v in trial.params.items() if k in gen.space}
                return _Live(gen, int(record["number"]), str(record["worker_id"]), params)
        return None

    # -- generations -----------------------------------------------------------------------

    def _generations(self, study: Study) -> List[_Generation]:
        attrs = study._storage.get_study_system_attrs(study._study_id)
        return [_Generation.from_json(g) for g in attrs.get(ATTR_GENERATIONS, [])]

    def _base_name(self, study: Study) -> str:
        if self._experiment_name:
            return self._experiment_name
        storage = study._storage
        url = getattr(getattr(storage, "_backend", storage), "url", "")
        digest = hashlib.sha1(
            f"{study.study_name}|{url}|{study._study_id}".encode()
        ).hexdigest()[:8]
        slug = re.sub(r"[^a-z0-9]+", "-", study.study_name.lower()).strip("-")[:40]
        return f"optuna-{slug}-{digest}" if slug else f"optuna-{digest}"

    def _objectives(self, study: Study) -> List[Tuple[str, str]]:
        directions = study.directions
        names = study.metric_names
        if not names or len(names) != len(directions) or len(set(names)) != len(names) or any(
            n == TAG_METRIC for n in names
        ):
            names = (
                ["value"]
                if len(directions) == 1
                else [f"value_{i}" for i in range(len(directions))]
            )
        return [
            (n, "maximize" if d == StudyDirection.MAXIMIZE else "minimize")
            for n, d in zip(names, directions)
        ]

    @staticmethod
    def _description(study: Study) -> str:
        return f"Optuna study {study.study_name!r} (hpo_client.optuna)"

    def _create(self, study: Study, gen: _Generation) -> bool:
        """Creates the generation's experiment; False when it existed (another process
        of the same study made it)."""
        space = {gen.names[k]: _to_hpo_param(e, gen.space, gen.names) for k, e in gen.space.items()}
        options: Dict[str, Any] = dict(self._experiment_options)
        pruner = study.pruner
        if isinstance(pruner, HpoPruner):
            options.setdefault("early_stopping", pruner.rule)
            options.setdefault("early_stopping_settings", pruner.settings)
        if self._trial_lease is not None:
            options.setdefault("trial_lease", self._trial_lease)
        options.setdefault("description", self._description(study))
        try:
            self._client.create_experiment(
                gen.experiment,
                space,
                objectives=self._objectives(study),
                algorithm=self._algorithm,
                settings=self._settings or None,
                seed=self._seed,
                **options,
            )
        except AlreadyExistsError:
            return False
        return True

    def _sync_generation(self, study: Study, finished: List[FrozenTrial]) -> Optional[_Generation]:
        """The generation for the next trial: the recorded one, or a new one when the
        space the finished trials show has changed. Caller holds the lock."""
        gens = self._generations(study)
        current = gens[-1] if gens else None
        if current is not None:
            if self._generation is not None and self._generation.experiment == current.experiment:
                current = gens[-1] = self._generation
            else:
                if self._generation is None:
                    self._client.experiment(current.experiment)  # re-attach: it must exist
                self._generation = current
        done = sum(1 for t in finished if t.state in _FINISHED)
        if done == self._finished_seen and current is not None:
            return current
        if self._fixed_space is not None:
            target, epoch = self._fixed_space, 0
        else:
            epoch0 = current.epoch if current else 0
            unstable = set(current.unstable) if current else set()
            target, epoch, self._inference = _target(
                finished, self._stable_trials, epoch0, unstable, self._inference
            )
        self._finished_seen = done
        if not target or (current is not None and _same_space(target, current.space)):
            return current
        unstable = list(current.unstable) if current else []
        if current is not None and epoch != current.epoch:
            # The parameters that made this epoch do not make another.
            unstable += [n for n in target if n not in current.space and n not in unstable]
        names: Dict[str, str] = {}
        for k in target:
            names[k] = _hpo_name(k, set(names.values()))
        base = self._base_name(study)
        name = base if not gens else f"{base[:58]}-g{len(gens) + 1}"
        gen = _Generation(name, target, names, [n for n, _ in self._objectives(study)],
                          epoch, unstable)
        created = self._create(study, gen)
        if created:
            log.info(
                "study %s: hpo experiment %s (generation %d) with %d parameters: %s",
                study.study_name, name, len(gens) + 1, len(target), ", ".join(target),
            )
        else:
            # Another process of the study made it meanwhile: take its record.
            for g in self._generations(study):
                if g.experiment == name:
                    self._generation = g
                    return g
            existing = self._client.experiment(name)
            ours = existing.spec.description == self._description(study)
            (log.info if ours else log.warning)(
                "hpo experiment %s exists but the study does not record it; the study "
                "joins it%s", name,
                "" if ours else " (give HpoSampler(experiment=...) for a new one)",
            )
        gens.append(gen)
        study._storage.set_study_system_attr(
            study._study_id, ATTR_GENERATIONS, [g.to_json() for g in gens]
        )
        study._storage.set_study_system_attr(study._study_id, ATTR_EXPERIMENT, name)
        self._generation = gen
        if created:
            # The creator warm-starts it with every finished trial; others attach.
            self._recorded[name] = set()
            for t in sorted(finished, key=lambda t: t.number):
                self._add(gen, t)
        return gen

    # -- recording trials ------------------------------------------------------------------

    def _add(self, gen: _Generation, trial: FrozenTrial) -> None:
        """Records a finished trial on the generation's experiment with AddTrial, once;
        a trial whose parameters are not legal there is left out."""
        recorded = self._recorded.setdefault(gen.experiment, set())
        if trial.number in recorded:
            return
        recorded.add(trial.number)
        params = _legal(gen.space, trial.params)
        if params is None:
            log.debug("trial %d: not legal in %s's space; not added", trial.number, gen.experiment)
            return
        req = pb.AddTrialRequest(experiment=gen.experiment)
        for k, v in params.items():
            req.parameters[gen.names[k]].CopyFrom(
                _py_to_value(k, _encode(gen.space[k].distribution, v))
            )
        metrics = None
        if trial.state == TrialState.COMPLETE:
            objectives = gen.objectives
            vals = trial.values or []
            if len(vals) == len(objectives) and all(math.isfinite(v) for v in vals):
                metrics = dict(zip(objectives, map(float, vals)))
        if metrics is None:
            # PRUNED, FAIL, or a value hpo cannot hold: AddTrial has no PRUNED, so it
            # is recorded failed (it teaches the algorithm nothing wrong).
            req.failed = True
            metrics = {}
        metrics[TAG_METRIC] = float(trial.number)
        for k, v in metrics.items():
            req.metrics[k] = v
        try:
            self._client._call("AddTrial", req, retry=False)
        except (InvalidArgumentError, FailedPreconditionError) as e:
            # One trial hpo will not take (a value out of its domain) does not stop
            # the study; an unreachable server does (raised at ask).
            log.warning("trial %d: not recorded on %s: %s", trial.number, gen.experiment, e)

    def _sync_trials(self, gen: _Generation, finished: List[FrozenTrial]) -> None:
        """Records the finished trials that no HpoSampler ran on ``gen`` (add_trial,
        another sampler, an earlier generation's trials finished since it began)."""
        recorded = self._recorded.setdefault(gen.experiment, set())
        todo = [
            t for t in finished
            if t.number not in recorded
            and (t.system_attrs.get(ATTR_TRIAL) or {}).get("experiment") != gen.experiment
        ]
        if not todo:
            return
        # What is on the server already (another process may have recorded them).
        for t in self._client.experiment(gen.experiment).trials():
            tag = t.metrics.get(TAG_METRIC)
            if tag is not None:
                recorded.add(int(tag))
        for t in sorted(todo, key=lambda t: t.number):
            self._add(gen, t)

    # -- the trial's life ------------------------------------------------------------------

    def _ensure_reached(self) -> None:
        if not self._reached:
            self._client._call("ListExperiments", pb.ListExperimentsRequest(page_size=1))
            self._reached = True

    def _before_trial(self, study: Study, trial: FrozenTrial) -> None:
        finished = study._get_trials(deepcopy=False, states=_ALL_DONE, use_cache=False)
        with self._lock:
            self._ensure_reached()
            gen = self._sync_generation(study, finished)
            if gen is None:
                return
            self._sync_trials(gen, finished)
        fixed = dict(trial.system_attrs.get("fixed_params") or {})
        if fixed:
            fixed_legal = {k: v for k, v in fixed.items() if k in gen.space}
            active = _active(gen.space, fixed_legal)
            if all(k in fixed_legal for k in active):
                return  # every parameter is fixed: recorded with AddTrial at the end
            if fixed_legal and _legal(
                {k: e for k, e in gen.space.items() if k in fixed_legal}, fixed_legal
            ) is not None:
                req = pb.EnqueueTrialRequest(experiment=gen.experiment)
                for k, v in fixed_legal.items():
                    req.parameters[gen.names[k]].CopyFrom(
                        _py_to_value(k, _encode(gen.space[k].distribution, v))
                    )
                try:
                    self._client._call("EnqueueTrial", req, retry=False)
                except (InvalidArgumentError, FailedPreconditionError) as e:
                    log.info("trial %d: fixed parameters not queued on hpo: %s", trial.number, e)
        worker = f"optuna-{trial._trial_id}-{uuid.uuid4().hex[:8]}"
        request = pb.GetTrialConfigRequest(experiment=gen.experiment, worker_id=worker)
        backoff = 0.05
        while True:
            try:
                got, _ = self._client._call("GetTrialConfig", request)
                break
            except ResourceExhaustedError:
                # The experiment's parallel_trials run (experiment_options): wait.
                time.sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, 1.0)
            except FailedPreconditionError as e:
                if "exhausted" not in str(e):
                    raise
                self._exhausted(study, trial, gen, finished, e)
                return
        by_hpo = {h: k for k, h in gen.names.items()}
        params: Dict[str, Any] = {}
        for h, v in got.parameters.items():
            k = by_hpo.get(h)
            if k is None:
                continue
            which = v.WhichOneof("kind")
            raw = v.string_value if which == "string_value" else v.number_value
            params[k] = _decode(gen.space[k].distribution, raw)
        record = {"experiment": gen.experiment, "number": got.number, "worker_id": worker}
        study._storage.set_trial_system_attr(trial._trial_id, ATTR_TRIAL, record)
        with self._lock:
            self._live[trial._trial_id] = _Live(gen, got.number, worker, params)
        self._start_heartbeat()

    def _exhausted(
        self,
        study: Study,
        trial: FrozenTrial,
        gen: _Generation,
        finished: List[FrozenTrial],
        error: HpoError,
    ) -> None:
        """hpo has handed out every configuration of a finite space (``auto``,
        ``random`` and ``grid`` never repeat one). When the space is the whole study's
        (its latest trials suggested nothing else), the study stops, as with Optuna's
        GridSampler and BruteForceSampler; otherwise (parameters outside the space make
        the study's space larger) trials go on. Either way this trial, and any asked
        meanwhile, are sampled by RandomSampler, as repeats."""
        latest = [t for t in finished if t.state in _FINISHED][-5:]
        whole = bool(latest) and all(k in gen.space for t in latest for k in t.params)
        with self._lock:
            self._repeats.add(trial._trial_id)
            first = gen.experiment not in self._exhausted_experiments
            self._exhausted_experiments.add(gen.experiment)
        if first:
            log.warning(
                "hpo experiment %s: %s. %s",
                gen.experiment, error,
                "The study stops after the trials running now (study.stop()), as with "
                "Optuna's GridSampler; they are sampled by RandomSampler."
                if whole
                else "Parameters outside it go on, so trials go on: its parameters are "
                "sampled by RandomSampler (repeats) until the space grows.",
            )
        if whole:
            try:
                study.stop()
            except RuntimeError:
                pass  # ask() outside optimize(): nothing to stop

    def _abandon(self, study: Study, trial: FrozenTrial) -> None:
        """Fails the Optuna trial ``ask`` created before raising (so no RUNNING trial is
        left in the storage); an enqueued one is queued again."""
        try:
            fixed = trial.system_attrs.get("fixed_params")
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            if fixed:
                study.enqueue_trial(fixed, user_attrs=dict(trial.user_attrs))
        except Exception as e:  # noqa: BLE001 - the hpo error matters more
            log.debug("trial %d: could not be failed: %s", trial.number, e)

    def _report(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Optional[Sequence[float]],
        live: Optional[_Live],
    ) -> None:
        frozen = _finished_copy(trial, state, values)
        with self._lock:
            current = self._generation
        if live is None:
            if current is not None:
                with self._lock:
                    self._add(current, frozen)
            return
        gen = live.generation
        used = {k: trial.params[k] for k in gen.space if k in trial.params}
        mismatch = any(
            k in used and not _same_value(used[k], v) for k, v in live.params.items()
        ) or any(k not in live.params for k in used)
        if mismatch:
            # Optuna ran other values than hpo's (fixed parameters, a branch hpo did
            # not expect): hand hpo's trial back for the next asker and record what ran.
            self._client._call(
                "ReleaseTrial",
                pb.ReleaseTrialRequest(
                    experiment=gen.experiment, trial=live.number, worker_id=live.worker_id,
                    reason=f"Optuna trial {trial.number} ran other values",
                ),
            )
            with self._lock:
                self._add(gen, frozen)
        else:
            req = pb.ReportResultRequest(
                experiment=gen.experiment, trial=live.number, worker_id=live.worker_id
            )
            req.metrics[TAG_METRIC] = float(trial.number)
            objectives = gen.objectives
            if state == TrialState.COMPLETE:
                vals = list(values or [])
                if len(vals) != len(objectives) or not all(math.isfinite(v) for v in vals):
                    req.failed = True
                    req.failure_reason = (
                        f"Optuna trial {trial.number}: values {vals} are not "
                        f"{len(objectives)} finite numbers"
                    )
                else:
                    for k, v in zip(objectives, vals):
                        req.metrics[k] = float(v)
            elif state == TrialState.PRUNED:
                req.pruned = True
                if trial.intermediate_values:
                    last = trial.intermediate_values[max(trial.intermediate_values)]
                    if math.isfinite(last):
                        req.metrics[objectives[0]] = float(last)
            else:
                req.failed = True
                reason = (
                    trial.system_attrs.get("fail_reason")
                    or f"Optuna trial {trial.number} failed"
                )
                req.failure_reason = str(reason)[:1000]
            self._client._call("ReportResult", req)
            with self._lock:
                self._recorded.setdefault(gen.experiment, set()).add(trial.number)
        # A generation that began while the trial ran learns of it too.
        if current is not None and current.experiment != gen.experiment:
            with self._lock:
                self._add(current, frozen)

    def _report_intermediate(self, study: Study, trial: FrozenTrial) -> bool:
        """Sends the trial's new intermediate values to hpo; whether hpo says stop."""
        live = self._live.get(trial._trial_id)
        if live is None:
            live = self._recorded_live(study, trial)
            if live is None:
                return False  # hpo did not hand it out: no rule to ask
            with self._lock:
                self._live.setdefault(trial._trial_id, live)
                live = self._live[trial._trial_id]
        objective = live.generation.objectives[0]
        for step in sorted(trial.intermediate_values):
            value = trial.intermediate_values[step]
            if step <= live.last_step or not math.isfinite(value):
                continue
            req = pb.ReportIntermediateRequest(
                experiment=live.generation.experiment, trial=live.number, step=int(step),
                worker_id=live.worker_id,
            )
            req.metrics[objective] = float(value)
            try:
                got, _ = self._client._call("ReportIntermediate", req)
            except HpoError as e:
                log.warning("trial %d: intermediate value not recorded on hpo: %s", trial.number, e)
                return live.should_stop
            live.last_step = step
            if got.should_stop:
                live.should_stop = True
                log.info("trial %d: hpo says stop: %s", trial.number, got.reason)
        return live.should_stop

    # -- heartbeats ------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is not None and self._heartbeat.is_alive():
                return
            lease = self._trial_lease or 600.0
            interval = max(lease / 3, 0.05)
            self._heartbeat = threading.Thread(
                target=self._beat, args=(interval,), name="hpo-optuna-heartbeat", daemon=True
            )
            self._heartbeat.start()

    def _beat(self, interval: float) -> None:
        while not self._heartbeat_stop.wait(interval):
            with self._lock:
                live = list(self._live.values())
            for t in live:
                try:
                    self._client._call(
                        "Heartbeat",
                        pb.HeartbeatRequest(
                            experiment=t.generation.experiment, trial=t.number,
                            worker_id=t.worker_id,
                        ),
                    )
                except (FailedPreconditionError, NotFoundError):
                    pass  # it finished meanwhile
                except HpoError as e:
                    log.warning("trial %d: heartbeat failed: %s", t.number, e)

    def __getstate__(self) -> Dict[str, Any]:
        raise TypeError("HpoSampler holds a connection and threads; make one per process")


def _finished_copy(
    trial: FrozenTrial, state: TrialState, values: Optional[Sequence[float]]
) -> FrozenTrial:
    """The trial as it is about to be stored (after_trial sees it still RUNNING)."""
    import copy

    t = copy.copy(trial)
    t.state = state
    t.values = list(values) if values is not None and state == TrialState.COMPLETE else None
    return t


# -- the pruner ------------------------------------------------------------------------


class HpoPruner(BasePruner):
    """An Optuna pruner whose decisions come from the hpo experiment's early-stopping
    rule (ReportIntermediate's answer). Use it with :class:`HpoSampler`.

    ``trial.report(value, step)`` then ``trial.should_prune()`` sends the trial's new
    intermediate values to hpo and answers what the rule says; a trial ended with
    ``raise optuna.TrialPruned()`` is recorded PRUNED with its last value.

    Args:
        rule: hpo's early-stopping rule: ``"median"`` (default), ``"percentile"``,
            ``"asha"``/``"successive_halving"``, ``"hyperband"``, ``"curve_fitting"``,
            ``"threshold"``, ``"patient"`` (see pruners/README.md).
        settings: the rule's settings; Optuna's names are accepted
            (``n_startup_trials``, ``n_warmup_steps``, ``interval_steps``, ...).
        **more_settings: more settings, by keyword.

    The rule is part of the experiment, fixed when the sampler creates it.
    """

    def __init__(
        self, rule: str = "median", settings: Optional[Mapping[str, Any]] = None,
        **more_settings: Any,
    ) -> None:
        self.rule = rule
        self.settings: Dict[str, Any] = {**dict(settings or {}), **more_settings}

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        sampler = study.sampler
        if not isinstance(sampler, HpoSampler):
            raise TypeError(
                "HpoPruner decides through the hpo experiment of an HpoSampler: create "
                "the study with sampler=HpoSampler(...)"
            )
        return sampler._report_intermediate(study, trial)

    def __repr__(self) -> str:
        return f"HpoPruner({self.rule!r}, {self.settings!r})"
