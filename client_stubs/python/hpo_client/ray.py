"""A Ray Tune search algorithm backed by the hpo service.

Swap it in for any other Tune searcher (OptunaSearch, HyperOptSearch, ...)::

    from hpo_client.ray import HpoSearch

    search = HpoSearch("localhost:50051", experiment="mnist-tune", max_trials=20)
    tuner = tune.Tuner(
        train_fn,
        param_space={"lr": tune.loguniform(1e-4, 1e-1), "opt": tune.choice(["adam", "sgd"])},
        tune_config=tune.TuneConfig(search_alg=search, metric="accuracy", mode="max",
                                    num_samples=20),
        run_config=tune.RunConfig(stop=search.stopper()),  # optional: early stopping
    )

The experiment lives on the server: its search space comes from ``param_space`` (Tune's
domains are converted) or from ``space=`` (hpo_client's helpers, conditions and all),
every Tune trial is one hpo trial, results are reported to the server, and the
intermediate results go to ReportIntermediate, whose early-stopping answer
``search.stopper()`` turns into Tune stopping the trial (which is then reported PRUNED).
Several Tune runs, or a Tune run beside plain workers, can share one experiment.
"""

from __future__ import annotations

import logging
import math
import numbers
import pickle
import uuid
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

from ray.tune.result import AUTO_RESULT_KEYS, TRAINING_ITERATION
from ray.tune.search import Searcher
from ray.tune.search.sample import (
    Categorical,
    Domain,
    Float,
    Integer,
    LogUniform,
    Normal,
    Quantized,
    Uniform,
)
from ray.tune.search.variant_generator import parse_spec_vars
from ray.tune.stopper import Stopper

from . import space as hpo_space
from .client import Client, Experiment
from .errors import (
    FailedPreconditionError,
    HpoError,
    NotFoundError,
    ResourceExhaustedError,
)
from .v1 import hpo_pb2 as pb

__all__ = ["HpoSearch", "HpoStopper", "convert_tune_space"]

log = logging.getLogger("hpo_client.ray")

_IGNORED_RESULT_KEYS = set(AUTO_RESULT_KEYS) | {
    "done",
    "trial_id",
    "experiment_id",
    "experiment_tag",
    "should_checkpoint",
    "checkpoint_dir_name",
}


def _flatten(config: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v and not isinstance(v, Domain):
            out.update(_flatten(v, key + "/"))
        else:
            out[key] = v
    return out


def _unflatten(flat: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, v in flat.items():
        parts = key.split("/")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out


def convert_tune_space(
    config: Mapping[str, Any],
) -> Tuple[Dict[str, hpo_space.Param], Dict[str, List[Any]]]:
    """Converts Tune's search-space domains (``tune.uniform``, ``tune.choice``, ...)
    into hpo parameters; nested dicts become ``a/b`` names.

    Returns (space, decoders): for a ``tune.choice`` whose options are neither all
    strings nor all numbers, the hpo parameter is categorical over the options' indexes
    and ``decoders[name]`` holds the options themselves.
    """
    _, domain_vars, grid_vars = parse_spec_vars(dict(config))
    if grid_vars:
        raise ValueError(
            "HpoSearch cannot take tune.grid_search; use tune.choice with "
            "algorithm='grid' instead"
        )
    space: Dict[str, hpo_space.Param] = {}
    decoders: Dict[str, List[Any]] = {}
    for path, domain in domain_vars:
        name = "/".join(str(p) for p in path)
        sampler = domain.get_sampler()
        q = None
        if isinstance(sampler, Quantized):
            q = sampler.q
            sampler = sampler.sampler
        if isinstance(domain, Float):
            if isinstance(sampler, LogUniform):
                space[name] = (
                    hpo_space.qloguniform(domain.lower, domain.upper, q)
                    if q
                    else hpo_space.loguniform(domain.lower, domain.upper)
                )
            elif isinstance(sampler, Normal):
                low = domain.lower if math.isfinite(domain.lower) else None
                high = domain.upper if math.isfinite(domain.upper) else None
                space[name] = hpo_space.normal(
                    sampler.mean, sampler.sd, low=low, high=high, q=q or 0
                )
            elif isinstance(sampler, Uniform):
                space[name] = (
                    hpo_space.quniform(domain.lower, domain.upper, q)
                    if q
                    else hpo_space.uniform(domain.lower, domain.upper)
                )
            else:
                raise ValueError(f"{name}: unsupported float sampler {sampler}")
        elif isinstance(domain, Integer):
            # Tune's randint/lograndint exclude upper; qrandint/qlograndint include it.
            upper = domain.upper if q else domain.upper - 1
            space[name] = hpo_space.intrange(
                int(domain.lower),
                int(upper),
                step=int(q or 1),
                log=isinstance(sampler, LogUniform),
            )
        elif isinstance(domain, Categorical):
            options = list(domain.categories)
            if options and all(isinstance(o, str) for o in options):
                space[name] = hpo_space.choice(options)
            elif options and all(
                isinstance(o, numbers.Real) and not isinstance(o, bool) for o in options
            ):
                space[name] = hpo_space.choice(options)
            else:
                space[name] = hpo_space.choice([str(i) for i in range(len(options))])
                decoders[name] = options
        else:
            raise ValueError(
                f"{name}: HpoSearch cannot convert {type(domain).__name__} "
                "(tune.sample_from?); give hpo_client space= instead"
            )
    return space, decoders


class HpoSearch(Searcher):
    """A Ray Tune :class:`~ray.tune.search.Searcher` whose suggestions come from an
    hpo experiment.

    Args:
        client_or_address: an :class:`hpo_client.Client` or the server's ``host:port``.
        experiment: the experiment's name. If it exists and no space is given (here or
            in ``param_space``), Tune joins it, taking metric and mode from its first
            objective; otherwise it is created when Tune starts.
        space: the search space, as hpo_client helpers (``{"lr": loguniform(...)}``,
            conditions allowed) or as Tune domains; or leave it out and give Tune's
            ``param_space``.
        metric, mode: the objective (``"max"``/``"min"``), or leave them to
            ``TuneConfig``. Lists of each make several objectives.
        points_to_evaluate: configurations to try first (queued with EnqueueTrial).
        exist_ok: join an existing experiment of that name even when a space is given.
        report_intermediate: send every intermediate result to ReportIntermediate.
        **experiment_options: passed on to :meth:`Client.create_experiment`:
            ``algorithm``, ``settings``, ``max_trials``, ``parallel_trials``,
            ``max_failed_trials``, ``early_stopping``, ``early_stopping_settings``,
            ``seed``, ``trial_lease``, ``max_duration``, ``target``, ``description``.

    With ``max_trials`` set, run Tune with ``num_samples=-1`` (or at least as many):
    the searcher says FINISHED when the experiment hands out no more trials. When the
    experiment already runs ``parallel_trials`` trials, ``suggest`` answers None and
    Tune asks again later.
    """

    def __init__(
        self,
        client_or_address: Union[Client, str] = "localhost:50051",
        experiment: Optional[str] = None,
        space: Optional[Mapping[str, Any]] = None,
        metric: Optional[Union[str, List[str]]] = None,
        mode: Optional[Union[str, List[str]]] = None,
        *,
        points_to_evaluate: Optional[List[Mapping[str, Any]]] = None,
        exist_ok: bool = False,
        report_intermediate: bool = True,
        **experiment_options: Any,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        if isinstance(client_or_address, Client):
            self._client: Optional[Client] = client_or_address
            self._target = client_or_address.target
        else:
            self._client = None
            self._target = client_or_address
        self._run_id = uuid.uuid4().hex[:8]
        self._experiment_name = experiment or f"tune-{self._run_id}"
        self._space: Optional[Dict[str, hpo_space.Param]] = None
        self._decoders: Dict[str, List[Any]] = {}
        if space:
            self._set_space(space)
        self._points = [dict(p) for p in points_to_evaluate or ()]
        self._exist_ok = exist_ok
        self._report_intermediate = report_intermediate
        self._options = experiment_options
        self._ready = False
        self._experiment: Optional[Experiment] = None
        # Tune trial id -> (hpo trial number, worker id).
        self._live: Dict[str, Tuple[int, str]] = {}
        self._last_step: Dict[str, int] = {}
        self._stop: Set[str] = set()
        self._stop_reason: Dict[str, str] = {}

    # -- setup --------------------------------------------------------------------------

    def _set_space(self, space: Mapping[str, Any]) -> None:
        if all(isinstance(v, hpo_space.Param) for v in space.values()):
            self._space = dict(space)
            self._decoders = {}
        else:
            self._space, self._decoders = convert_tune_space(space)

    def set_search_properties(
        self, metric: Optional[str], mode: Optional[str], config: Dict, **spec: Any
    ) -> bool:
        if self._ready:
            return False
        if metric and not self._metric:
            self._metric = metric
        if mode and not self._mode:
            self._mode = mode
        converted, decoders = convert_tune_space(config)
        if converted:
            if self._space is not None:
                return False  # Tune then refuses param_space's domains, as it should
            self._space, self._decoders = converted, decoders
        return True

    @property
    def client(self) -> Client:
        """The client (opened from the address on first use)."""
        if self._client is None:
            self._client = Client(self._target)
        return self._client

    @property
    def experiment(self) -> Experiment:
        """The hpo experiment behind this searcher (created or joined on first use)."""
        self._setup()
        assert self._experiment is not None
        return self._experiment

    def _objectives(self) -> List[Tuple[str, str]]:
        metrics = self._metric if isinstance(self._metric, list) else [self._metric]
        modes = self._mode if isinstance(self._mode, list) else [self._mode]
        if not metrics or metrics[0] is None:
            raise ValueError(
                "HpoSearch needs a metric: pass metric= here or in tune.TuneConfig"
            )
        if len(modes) != len(metrics) or any(m not in ("min", "max") for m in modes):
            raise ValueError(f"HpoSearch: mode must be 'min' or 'max' per metric, got {self._mode!r}")
        return [(m, "maximize" if g == "max" else "minimize") for m, g in zip(metrics, modes)]

    def _setup(self) -> None:
        if self._ready:
            return
        client = self.client
        if self._space is None:
            try:
                self._experiment = client.experiment(self._experiment_name)
            except NotFoundError:
                raise ValueError(
                    f"experiment {self._experiment_name!r} does not exist and HpoSearch "
                    "has no search space: give space= or Tune's param_space"
                ) from None
        else:
            self._experiment = client.create_experiment(
                self._experiment_name,
                self._space,
                objectives=self._objectives(),
                exist_ok=self._exist_ok,
                **self._options,
            )
            for point in self._points:
                flat = _flatten(point)
                for name, options in self._decoders.items():
                    if name in flat:
                        flat[name] = str(options.index(flat[name]))
                self._experiment.enqueue(flat)
        objectives = self._experiment.objectives
        if not self._metric:
            names = [n for n, _ in objectives]
            modes = ["max" if g == "maximize" else "min" for _, g in objectives]
            self._metric = names[0] if len(names) == 1 else names
            self._mode = modes[0] if len(modes) == 1 else modes
        wanted = [n for n, _ in self._objectives()]
        have = [n for n, _ in objectives]
        if wanted != have:
            raise ValueError(
                f"experiment {self._experiment_name!r} optimizes {have}, not {wanted}"
            )
        self._ready = True

    def stopper(self) -> "HpoStopper":
        """A :class:`ray.tune.Stopper` that stops a Tune trial when the experiment's
        early-stopping rule says so (pass it as ``tune.RunConfig(stop=...)``)."""
        return HpoStopper(self)

    # -- Searcher ------------------------------------------------------------------------

    def suggest(self, trial_id: str) -> Optional[Dict]:
        self._setup()
        exp = self.experiment
        if trial_id in self._live:  # asked again: the same trial
            return self._config(exp.get_trial(self._live[trial_id][0]).params)
        # One worker id per Tune trial: a retried request returns the same hpo trial.
        worker = f"tune-{self._run_id}-{trial_id}"
        try:
            trial = exp.suggest(worker_id=worker)
        except ResourceExhaustedError:
            return None  # parallel_trials run; Tune asks again later
        except FailedPreconditionError as e:
            log.info("experiment %s hands out no more trials: %s", exp.name, e)
            return Searcher.FINISHED
        self._live[trial_id] = (trial.number, worker)
        return self._config(trial.params)

    def _config(self, params: Mapping[str, Any]) -> Dict[str, Any]:
        flat = dict(params)
        for name, options in self._decoders.items():
            if name in flat:
                flat[name] = options[int(flat[name])]
        return _unflatten(flat)

    def _metrics(self, result: Optional[Mapping[str, Any]]) -> Dict[str, float]:
        out: Dict[str, float] = {}
        for k, v in (result or {}).items():
            if k in _IGNORED_RESULT_KEYS or k.startswith("config/"):
                continue
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                continue
            if math.isfinite(float(v)):
                out[k] = float(v)
        return out

    def _intermediate(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """Sends one intermediate result; returns whether the trial should stop."""
        if trial_id in self._stop:
            return True
        if trial_id not in self._live or not self._report_intermediate:
            return False
        step = result.get(TRAINING_ITERATION)
        metrics = self._metrics(result)
        objective = self._objectives()[0][0]
        if not isinstance(step, int) or objective not in metrics:
            return False
        if self._last_step.get(trial_id, -1) >= step:
            return trial_id in self._stop
        number, worker = self._live[trial_id]
        try:
            req = pb.ReportIntermediateRequest(
                experiment=self.experiment.name, trial=number, step=step, worker_id=worker
            )
            for k, v in metrics.items():
                req.metrics[k] = v
            got, _ = self.client._call("ReportIntermediate", req)
        except HpoError as e:
            log.warning("trial %d: intermediate result not recorded: %s", number, e)
            return False
        self._last_step[trial_id] = step
        if got.should_stop:
            self._stop.add(trial_id)
            self._stop_reason[trial_id] = got.reason
        return got.should_stop

    def on_trial_result(self, trial_id: str, result: Dict) -> None:
        self._intermediate(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: Optional[Dict] = None, error: bool = False
    ) -> None:
        if trial_id not in self._live:
            return
        number, worker = self._live.pop(trial_id)
        self._last_step.pop(trial_id, None)
        pruned = trial_id in self._stop
        self._stop.discard(trial_id)
        self._stop_reason.pop(trial_id, None)
        req = pb.ReportResultRequest(
            experiment=self.experiment.name, trial=number, worker_id=worker
        )
        metrics = self._metrics(result)
        missing = [n for n, _ in self._objectives() if n not in metrics]
        if error:
            req.failed = True
            req.failure_reason = "the Tune trial raised an error"
        elif pruned:
            req.pruned = True
            for k, v in metrics.items():
                req.metrics[k] = v
        elif missing:
            req.failed = True
            req.failure_reason = f"the Tune trial's last result has no metric {missing[0]!r}"
        else:
            for k, v in metrics.items():
                req.metrics[k] = v
        try:
            self.client._call("ReportResult", req)
        except HpoError as e:
            log.warning("trial %d: result not recorded: %s", number, e)

    def add_evaluated_point(
        self,
        parameters: Dict,
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: Optional[List[float]] = None,
    ) -> None:
        """Warm start: records an evaluated configuration (AddTrial)."""
        flat = _flatten(parameters)
        for name, options in self._decoders.items():
            if name in flat:
                flat[name] = str(options.index(flat[name]))
        objective = self._objectives()[0][0]
        self.experiment.add_trial(flat, None if error else {objective: value}, failed=error)

    # -- state (Tune pickles searchers; the connection is not pickled) -------------------

    _STATE_KEYS = (
        "_target",
        "_run_id",
        "_experiment_name",
        "_space",
        "_decoders",
        "_points",
        "_exist_ok",
        "_report_intermediate",
        "_options",
        "_metric",
        "_mode",
        "_live",
        "_last_step",
        "_stop",
        "_stop_reason",
    )

    def get_state(self) -> Dict:
        return {k: getattr(self, k) for k in self._STATE_KEYS}

    def set_state(self, state: Dict) -> None:
        for k in self._STATE_KEYS:
            if k in state:
                setattr(self, k, state[k])
        # The experiment exists by now; join it rather than create it again.
        self._exist_ok = True
        self._ready = False
        self._experiment = None

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))

    def __getstate__(self) -> Dict:
        state = self.__dict__.copy()
        state["_client"] = None
        state["_experiment"] = None
        # Once created, a copy joins the experiment rather than create it again.
        state["_exist_ok"] = self._exist_ok or self._ready
        state["_ready"] = False
        return state

    def __setstate__(self, state: Dict) -> None:
        self.__dict__.update(state)


class HpoStopper(Stopper):
    """Stops a Tune trial when the hpo experiment's early-stopping rule says so; the
    trial is then reported PRUNED. Make it with :meth:`HpoSearch.stopper`."""

    def __init__(self, searcher: HpoSearch) -> None:
        self.searcher = searcher

    def __call__(self, trial_id: str, result: Dict) -> bool:
        return self.searcher._intermediate(trial_id, result)

    def stop_all(self) -> bool:
        return False
