"""The idiomatic layer over the generated hpo.v1 stub: Client, Experiment and Trial."""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import logging
import numbers
import os
import random
import socket
import threading
import time
import uuid
import warnings
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import grpc
from google.protobuf import struct_pb2

from . import _security, errors
from .errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    HpoError,
    NotFoundError,
    ResourceExhaustedError,
)
from .space import Space, python_value, space_to_proto
from .v1 import hpo_pb2 as pb
from .v1 import hpo_pb2_grpc as pb_grpc

__all__ = ["Client", "Experiment", "Trial", "TrialPruned"]

log = logging.getLogger("hpo_client")

Metrics = Mapping[str, float]
Seconds = Union[float, int, datetime.timedelta]
# fn(trial) -> a number (the first objective), a dict of metrics, or None when fn
# reported the trial itself.
Objective = Callable[["Trial"], Union[float, Mapping[str, float], None]]

_DEFAULT_LEASE = 600.0  # the server's default trial_lease, in seconds
_GOALS = {"maximize": pb.Objective.MAXIMIZE, "minimize": pb.Objective.MINIMIZE}


class TrialPruned(Exception):
    """Raise inside an objective (or a ``with trial:`` block) to end the trial PRUNED:
    the usual answer to ``trial.report_intermediate(...)`` returning True."""


def _seconds(value: Seconds) -> float:
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(value)


def _duration(value: Seconds):
    from google.protobuf import duration_pb2

    d = duration_pb2.Duration()
    d.FromTimedelta(datetime.timedelta(seconds=_seconds(value)))
    return d


def _setting(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _py_to_value(name: str, v: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    if isinstance(v, bool):
        raise TypeError(f"parameters[{name!r}]: use a string, not a bool")
    if isinstance(v, str):
        value.string_value = v
    elif isinstance(v, numbers.Real):
        value.number_value = float(v)
    else:
        raise TypeError(f"parameters[{name!r}]: must be a number or a string, got {v!r}")
    return value


def _metrics(
    first_objective: Optional[str],
    value: Optional[Union[float, Mapping[str, float]]],
    more: Mapping[str, float],
) -> Dict[str, float]:
    out: Dict[str, float] = {}
    if isinstance(value, Mapping):
        out.update(value)
    elif value is not None:
        if first_objective is None:
            raise ValueError("a bare value needs an objective; pass metrics by name")
        out[first_objective] = value
    out.update(more)
    for k, v in out.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"metrics[{k!r}]: must be a number, got {v!r}")
    return {k: float(v) for k, v in out.items()}


class Client:
    """A connection to an hpo server.

    >>> client = Client("localhost:50051")
    >>> exp = client.create_experiment("demo", space={"x": uniform(0, 1)},
    ...                                objective="loss", goal="minimize")

    Calls that are safe to repeat are retried on UNAVAILABLE (the server restarting, a
    dropped connection) with backoff for up to ``retry_timeout`` seconds. Asking for a
    trial is one of them: every thread of the process asks under a worker id of its own
    (``client.worker_id``), and the server answers a worker that asks again while its
    trial runs with that same trial, so a retried request never makes a second trial.
    AddTrial and EnqueueTrial are not retried, and neither is a refusal
    (UNAUTHENTICATED, PERMISSION_DENIED) or a failed TLS handshake.

    Security: a server started with ``--auth_tokens`` wants a bearer token on every
    call, sent as ``authorization: Bearer TOKEN``; one with ``--tls_cert`` speaks TLS,
    and with ``--tls_client_ca`` also wants a client certificate. Each setting defaults
    to an environment variable, so the same code runs against any server:

    >>> client = Client("hpo.example.org:50051", token="...", tls_ca="ca.pem")
    >>> client = Client("hpo.example.org:50051")  # $HPO_TOKEN, $HPO_TLS_CA, ...

    A CA (``tls_ca``), a client certificate or ``credentials`` turns TLS on; otherwise
    the channel is plaintext, and a token on it travels in clear text, readable by
    anyone who sees the traffic: use TLS beyond the local machine. On TLS the token is
    sent as gRPC call credentials; on plaintext, where gRPC refuses call credentials,
    as metadata that the client adds to every call (``stub`` included). ``client.tls``
    says whether the channel is TLS (None for a ``channel`` given).

    Args:
        target: ``host:port`` of the server.
        worker_id: if set, the worker id of every call (all threads); by default each
            thread gets its own, stable for the life of the client.
        timeout: seconds each call may take (None: no limit).
        retry_timeout: for how long to keep retrying UNAVAILABLE (0: never retry).
        channel: an existing ``grpc.Channel`` to use instead of opening one (its own
            security stays as it is; a token is added to its calls).
        credentials: ``grpc.ChannelCredentials`` for a TLS channel, instead of
            ``tls_ca``/``tls_cert``/``tls_key``; plaintext if None and those are unset.
        options: gRPC channel options.
        token: the bearer token; default ``$HPO_TOKEN``; ``""`` sends none even if
            ``$HPO_TOKEN`` is set. Surrounding whitespace (a file's newline) is dropped.
        tls_ca: path of the PEM CA bundle that signed the server's certificate; turns
            TLS on. Default ``$HPO_TLS_CA``; ``""`` for none.
        tls_cert, tls_key: paths of the client's PEM certificate and private key, for
            a server that wants client certificates (mutual TLS); both or neither.
            Defaults ``$HPO_TLS_CERT``, ``$HPO_TLS_KEY``. Without ``tls_ca`` the server's
            certificate is checked against the system's CAs.

    Raises:
        ValueError: a certificate without its key (or a key without its certificate),
            a file that cannot be read or is not PEM (the message names the setting and
            the file), a token that cannot be sent as a header, or TLS settings given
            together with ``credentials`` or ``channel``.
    """

    def __init__(
        self,
        target: str = "localhost:50051",
        *,
        worker_id: Optional[str] = None,
        timeout: Optional[float] = 60.0,
        retry_timeout: float = 30.0,
        channel: Optional[grpc.Channel] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        options: Optional[Sequence[Tuple[str, Any]]] = None,
        token: Optional[str] = None,
        tls_ca: Optional[_security.PathLike] = None,
        tls_cert: Optional[_security.PathLike] = None,
        tls_key: Optional[_security.PathLike] = None,
    ) -> None:
        self.target = target
        token_value = _security.token_value(
            _security.Setting("token", _security.ENV_TOKEN, token)
        )
        ca = _security.Setting("tls_ca", _security.ENV_TLS_CA, tls_ca)
        cert = _security.Setting("tls_cert", _security.ENV_TLS_CERT, tls_cert)
        key = _security.Setting("tls_key", _security.ENV_TLS_KEY, tls_key)
        explicit_tls = [s.source for s in (ca, cert, key) if s.explicit and s]
        if explicit_tls and (credentials is not None or channel is not None):
            given = "credentials=" if credentials is not None else "channel="
            raise ValueError(f"give {given} or {', '.join(explicit_tls)}, not both")
        # Whether the channel is TLS (None: the caller's channel, not known) and sends a
        # client certificate (None: not known, the caller's channel or credentials).
        self.tls: Optional[bool] = None
        self._client_cert: Optional[bool] = None
        if channel is None:
            if credentials is None:
                # The environment's TLS settings apply only when no credentials are given.
                credentials = _security.tls_credentials(ca, cert, key)
                self._client_cert = bool(cert)
            self.tls = credentials is not None
            if credentials is not None:
                if token_value is not None:
                    credentials = grpc.composite_channel_credentials(
                        credentials, grpc.access_token_call_credentials(token_value)
                    )
                channel = grpc.secure_channel(target, credentials, options=options)
            else:
                channel = grpc.insecure_channel(target, options=options)
                if token_value is not None:
                    channel = grpc.intercept_channel(
                        channel, _security.TokenInterceptor(token_value)
                    )
            self._owns_channel = True
        else:
            if token_value is not None:
                channel = grpc.intercept_channel(channel, _security.TokenInterceptor(token_value))
            self._owns_channel = False
        self._has_token = token_value is not None
        # Kept only to blank it out of error messages, should a server echo it.
        self._token_text = token_value
        self._channel = channel
        self._stub = pb_grpc.HpoServiceStub(channel)
        self._timeout = timeout
        self._retry_timeout = retry_timeout
        self._fixed_worker_id = worker_id
        self._local = threading.local()
        self._thread_ids = itertools.count()
        self._prefix = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    # -- plumbing ------------------------------------------------------------------------

    @property
    def stub(self) -> pb_grpc.HpoServiceStub:
        """The generated stub, for anything this layer does not cover."""
        return self._stub

    @property
    def worker_id(self) -> str:
        """The worker id this thread asks for trials under: stable per thread."""
        if self._fixed_worker_id is not None:
            return self._fixed_worker_id
        wid = getattr(self._local, "worker_id", None)
        if wid is None:
            wid = f"{self._prefix}-{next(self._thread_ids)}"
            self._local.worker_id = wid
        return wid

    def close(self) -> None:
        """Closes the channel (if this client opened it)."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.target!r})"

    def _call(self, method: str, request: Any, *, retry: bool = True) -> Tuple[Any, int]:
        """Calls ``method``; returns (response, attempts). Raises HpoError subclasses."""
        rpc = getattr(self._stub, method)
        deadline = time.monotonic() + self._retry_timeout
        backoff = 0.05
        attempt = 0
        while True:
            attempt += 1
            try:
                return rpc(request, timeout=self._timeout), attempt
            except grpc.RpcError as e:
                err = self._error(e, method)
                err.attempts = attempt  # type: ignore[attr-defined]
                code = e.code() if hasattr(e, "code") else None
                pause = backoff * (0.5 + random.random() / 2)
                # A failed TLS handshake is a setting to fix, not a passing outage.
                handshake = "handshake failed" in err.message.lower()
                if retry and code == grpc.StatusCode.UNAVAILABLE and not handshake and (
                    time.monotonic() + pause < deadline
                ):
                    log.debug("%s: UNAVAILABLE (%s); retrying in %.2fs", method, err, pause)
                    time.sleep(pause)
                    backoff = min(backoff * 2, 2.0)
                    continue
                raise err from None

    def _error(self, e: grpc.RpcError, method: str) -> HpoError:
        """The HpoError for a failed call, with a hint for refusals and TLS failures.
        The token never appears in it, even if a server should echo it."""
        err = errors.from_rpc_error(e, method)
        message = err.message
        if self._token_text:
            message = message.replace(self._token_text, "<token>")
        code = err.code
        if code == grpc.StatusCode.UNAUTHENTICATED:
            if self._has_token:
                hint = "the server did not accept the token (token= or $HPO_TOKEN)"
            else:
                hint = "no token was sent: pass token= or set $HPO_TOKEN"
            message = f"{message} ({hint})"
        elif code == grpc.StatusCode.PERMISSION_DENIED:
            message = (
                f"{message} (the token's role does not allow {method}; roles: "
                "read < worker < admin)"
            )
        elif code == grpc.StatusCode.UNAVAILABLE:
            lower = message.lower()
            if "handshake failed" in lower:
                message += (
                    " (TLS: check tls_ca/$HPO_TLS_CA against the server's certificate, "
                    "tls_cert and tls_key if it wants a client certificate, and that the "
                    "server speaks TLS)"
                )
            elif "socket closed" in lower and self.tls is False:
                message += " (if the server speaks TLS, set tls_ca= or $HPO_TLS_CA)"
            elif "socket closed" in lower and self.tls and self._client_cert is False:
                message += (
                    " (if the server wants a client certificate, set tls_cert= and "
                    "tls_key=, or $HPO_TLS_CERT and $HPO_TLS_KEY)"
                )
        if message != err.message:
            err.message = message
            err.args = (message,)
        return err

    # -- experiments ---------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        space: Space,
        *,
        objective: Optional[str] = None,
        goal: str = "maximize",
        objectives: Optional[
            Union[Mapping[str, str], Sequence[Union[str, Tuple[str, str]]]]
        ] = None,
        target: Optional[float] = None,
        algorithm: Optional[str] = None,
        settings: Optional[Mapping[str, Any]] = None,
        max_trials: int = 0,
        parallel_trials: int = 0,
        max_failed_trials: int = 0,
        max_duration: Optional[Seconds] = None,
        trial_lease: Optional[Seconds] = None,
        early_stopping: Optional[str] = None,
        early_stopping_settings: Optional[Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        description: str = "",
        exist_ok: bool = False,
    ) -> "Experiment":
        """Creates an experiment and returns its handle.

        Args:
            name: lower-case letters, digits, ``-`` and ``_``; unique on the server.
            space: parameter name -> :func:`~hpo_client.uniform`, ``intrange``,
                ``choice``, ... (conditions with ``when=``).
            objective, goal: the one metric to optimize, ``"maximize"`` or
                ``"minimize"``. Or ``objectives``: several, as ``{"acc": "maximize",
                "latency": "minimize"}`` or ``[("acc", "maximize"), ...]`` (a bare name
                takes ``goal``); the first is the one single-objective algorithms use.
            target: the experiment completes once the first objective reaches it.
            algorithm, settings: the search algorithm (server default: ``"auto"``)
                and its settings (values are sent as strings).
            max_trials, parallel_trials, max_failed_trials: limits; 0 means none.
            max_duration: seconds (or a timedelta) after which no trial starts.
            trial_lease: how long a worker holds a trial without a heartbeat.
            early_stopping, early_stopping_settings: the early-stopping rule.
            seed: makes suggestions reproducible; chosen by the server if None.
            exist_ok: if an experiment of that name exists, return it instead of
                raising :class:`AlreadyExistsError` (its spec is not compared).
        """
        e = pb.Experiment(
            name=name,
            description=description,
            max_trials=max_trials,
            parallel_trials=parallel_trials,
            max_failed_trials=max_failed_trials,
        )
        e.parameters.extend(space_to_proto(space))
        e.objectives.extend(self._objectives(objective, goal, objectives, target))
        if algorithm is not None or settings:
            e.algorithm.name = algorithm or ""
            for k, v in (settings or {}).items():
                e.algorithm.settings[k] = _setting(v)
        if early_stopping is not None:
            e.early_stopping.name = early_stopping
            for k, v in (early_stopping_settings or {}).items():
                e.early_stopping.settings[k] = _setting(v)
        if max_duration is not None:
            e.max_duration.CopyFrom(_duration(max_duration))
        if trial_lease is not None:
            e.trial_lease.CopyFrom(_duration(trial_lease))
        if seed is not None:
            e.seed = seed
        return self._create(pb.CreateExperimentRequest(experiment=e), name, exist_ok)

    def import_spec(
        self,
        format: str,
        content: Union[str, bytes, Mapping[str, Any], "os.PathLike[str]"],
        *,
        name: Optional[str] = None,
        exist_ok: bool = False,
        **overrides: Any,
    ) -> "Experiment":
        """Creates an experiment from a spec written for another system.

        Args:
            format: ``"katib"`` (a Katib Experiment or its spec), ``"nni"`` (an NNI or
                T9k search space or experiment config) or ``"kruize"`` (a Kruize HPO
                search_space).
            content: the spec's JSON or YAML text, a dict (sent as JSON) or a path.
            name: the experiment's name, overriding any in the spec.
            overrides: fields of the experiment that override the spec's, with the
                same names as :meth:`create_experiment`'s (``max_trials=``,
                ``algorithm=``, ``space=``, ``objective=``, ...).
        """
        if isinstance(content, os.PathLike):
            with open(content, encoding="utf-8") as f:
                text = f.read()
        elif isinstance(content, bytes):
            text = content.decode("utf-8")
        elif isinstance(content, Mapping):
            text = json.dumps(content)
        else:
            text = content
        e = pb.Experiment()
        if name is not None:
            e.name = name
        space = overrides.pop("space", None)
        if space is not None:
            e.parameters.extend(space_to_proto(space))
        obj = overrides.pop("objective", None)
        objs = overrides.pop("objectives", None)
        goal = overrides.pop("goal", "maximize")
        target = overrides.pop("target", None)
        if obj is not None or objs is not None:
            e.objectives.extend(self._objectives(obj, goal, objs, target))
        algorithm = overrides.pop("algorithm", None)
        settings = overrides.pop("settings", None)
        if algorithm is not None or settings:
            e.algorithm.name = algorithm or ""
            for k, v in (settings or {}).items():
                e.algorithm.settings[k] = _setting(v)
        rule = overrides.pop("early_stopping", None)
        rule_settings = overrides.pop("early_stopping_settings", None)
        if rule is not None:
            e.early_stopping.name = rule
            for k, v in (rule_settings or {}).items():
                e.early_stopping.settings[k] = _setting(v)
        for field in ("max_duration", "trial_lease"):
            v = overrides.pop(field, None)
            if v is not None:
                getattr(e, field).CopyFrom(_duration(v))
        for field in ("max_trials", "parallel_trials", "max_failed_trials", "seed", "description"):
            v = overrides.pop(field, None)
            if v is not None:
                setattr(e, field, v)
        if overrides:
            raise TypeError(f"import_spec: unknown overrides {sorted(overrides)}")
        request = pb.CreateExperimentRequest(
            experiment=e, import_spec=pb.ImportSpec(format=format, content=text, name=name or "")
        )
        return self._create(request, name, exist_ok)

    def _create(
        self, request: pb.CreateExperimentRequest, name: Optional[str], exist_ok: bool
    ) -> "Experiment":
        try:
            created, _ = self._call("CreateExperiment", request)
        except AlreadyExistsError as err:
            # A retry whose first attempt went through, or exist_ok: the experiment
            # is there; hand back what the server has.
            if name and (exist_ok or getattr(err, "attempts", 1) > 1):
                return self.experiment(name)
            raise
        return Experiment(self, created)

    @staticmethod
    def _objectives(
        objective: Optional[str],
        goal: str,
        objectives: Optional[Union[Mapping[str, str], Sequence[Any]]],
        target: Optional[float],
    ) -> List[pb.Objective]:
        def make(n: str, g: str) -> pb.Objective:
            if g.lower() not in _GOALS:
                raise ValueError(f"goal for {n!r}: 'maximize' or 'minimize', got {g!r}")
            return pb.Objective(name=n, goal=_GOALS[g.lower()])

        if (objective is None) == (objectives is None):
            raise ValueError("give exactly one of objective= and objectives=")
        out: List[pb.Objective] = []
        if objective is not None:
            out.append(make(objective, goal))
        elif isinstance(objectives, Mapping):
            out.extend(make(n, g) for n, g in objectives.items())
        else:
            for o in objectives or ():
                if isinstance(o, str):
                    out.append(make(o, goal))
                else:
                    n, g = o
                    out.append(make(n, g))
        if not out:
            raise ValueError("objectives: give at least one")
        if target is not None:
            out[0].target = float(target)
        return out

    def experiment(self, name: str) -> "Experiment":
        """The handle of an existing experiment. Raises NotFoundError."""
        got, _ = self._call("GetExperiment", pb.GetExperimentRequest(name=name))
        return Experiment(self, got)

    def experiments(self, page_size: int = 100) -> Iterator["Experiment"]:
        """Every experiment on the server, in name order (fetched a page at a time)."""
        token = ""
        while True:
            page, _ = self._call(
                "ListExperiments", pb.ListExperimentsRequest(page_size=page_size, page_token=token)
            )
            for e in page.experiments:
                yield Experiment(self, e)
            token = page.next_page_token
            if not token:
                return

    def delete_experiment(self, name: str) -> None:
        """Deletes an experiment and its trials."""
        try:
            self._call("DeleteExperiment", pb.DeleteExperimentRequest(name=name))
        except NotFoundError as err:
            if getattr(err, "attempts", 1) == 1:
                raise  # on a retry, NOT_FOUND means the first attempt deleted it


class Experiment:
    """A handle on one experiment on the server (``client.create_experiment`` or
    ``client.experiment(name)``)."""

    def __init__(self, client: Client, proto: pb.Experiment) -> None:
        self.client = client
        self.name: str = proto.name
        self._set(proto)

    def _set(self, proto: pb.Experiment) -> None:
        self._proto = proto
        self._params = {p.name: p for p in proto.parameters}

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, state={pb.Experiment.State.Name(self._proto.state)})"

    # -- the experiment itself -------------------------------------------------------------

    @property
    def spec(self) -> pb.Experiment:
        """The experiment as last fetched (``refresh()`` fetches it again)."""
        return self._proto

    def refresh(self) -> "Experiment":
        """Fetches the experiment's spec, state and counts again."""
        got, _ = self.client._call("GetExperiment", pb.GetExperimentRequest(name=self.name))
        self._set(got)
        return self

    @property
    def state(self) -> str:
        """The experiment's state now (fetched): ``"CREATED"``, ``"RUNNING"``,
        ``"STOPPED"``, ``"COMPLETED"``, ``"FAILED"`` or ``"TIMED_OUT"``."""
        return pb.Experiment.State.Name(self.refresh()._proto.state)

    @property
    def status(self) -> pb.Experiment.Status:
        """Trial counts by state, the status message and (for "auto") the
        algorithm in use, fetched now."""
        return self.refresh()._proto.status

    @property
    def objectives(self) -> List[Tuple[str, str]]:
        """[(metric name, "maximize" | "minimize"), ...], the first one primary."""
        return [
            (o.name, pb.Objective.Goal.Name(o.goal).lower()) for o in self._proto.objectives
        ]

    @property
    def lease_seconds(self) -> float:
        """How long a worker holds a trial without a heartbeat."""
        if self._proto.HasField("trial_lease"):
            return self._proto.trial_lease.ToTimedelta().total_seconds()
        return _DEFAULT_LEASE

    def stop(self, reason: str = "") -> "Experiment":
        """Stops handing out trials; running ones may still report. Resumable."""
        got, _ = self.client._call(
            "StopExperiment", pb.StopExperimentRequest(name=self.name, reason=reason)
        )
        self._set(got)
        return self

    def resume(self) -> "Experiment":
        """Resumes a STOPPED experiment."""
        got, _ = self.client._call("ResumeExperiment", pb.ResumeExperimentRequest(name=self.name))
        self._set(got)
        return self

    def delete(self) -> None:
        """Deletes the experiment and all its trials."""
        self.client.delete_experiment(self.name)

    # -- trials ------------------------------------------------------------------------------

    def _trial(self, proto: pb.Trial) -> "Trial":
        return Trial(self, proto)

    def suggest(self, worker_id: Optional[str] = None) -> "Trial":
        """The next trial to run, RUNNING and leased to ``worker_id`` (by default this
        thread's id). Asking again before reporting gives the same trial back; pass
        distinct worker ids to hold several at once.

        Raises:
            ResourceExhaustedError: ``parallel_trials`` trials already run.
            FailedPreconditionError: no more trials (the experiment is STOPPED,
                COMPLETED, FAILED, TIMED_OUT, or has handed out ``max_trials``).
        """
        wid = worker_id or self.client.worker_id
        got, _ = self.client._call(
            "GetTrialConfig", pb.GetTrialConfigRequest(experiment=self.name, worker_id=wid)
        )
        return self._trial(got)

    def next_trial(
        self,
        worker_id: Optional[str] = None,
        *,
        wait: bool = True,
        timeout: Optional[float] = None,
    ) -> Optional["Trial"]:
        """Like :meth:`suggest`, for a worker loop: returns None once the experiment
        hands out no more trials, and while ``parallel_trials`` run, waits (with
        backoff, up to ``timeout`` seconds) if ``wait``, else returns None::

            while (trial := exp.next_trial()) is not None:
                with trial:
                    trial.report(accuracy=train(**trial.params))
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        backoff = 0.05
        while True:
            try:
                return self.suggest(worker_id)
            except FailedPreconditionError:
                return None
            except ResourceExhaustedError:
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    return None
                time.sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, 1.0)

    def trial(self, worker_id: Optional[str] = None, *, heartbeat: bool = True) -> "Trial":
        """The next trial, for a ``with`` block::

            with exp.trial() as t:
                t.report(accuracy=train(**t.params))

        The block heartbeats the trial while it runs (unless ``heartbeat=False``);
        if the block raises, the trial is reported failed (the exception goes on);
        :class:`TrialPruned` ends it PRUNED; a block that ends without reporting fails
        the trial too. Raises as :meth:`suggest`.
        """
        t = self.suggest(worker_id)
        t._heartbeat_in_with = heartbeat
        return t

    def get_trial(self, number: int) -> "Trial":
        """Trial ``number`` as stored now."""
        got, _ = self.client._call(
            "GetTrialConfig", pb.GetTrialConfigRequest(experiment=self.name, trial=number)
        )
        return self._trial(got)

    def trials(
        self, states: Optional[Iterable[Union[str, int]]] = None, page_size: int = 100
    ) -> Iterator["Trial"]:
        """The experiment's trials by number, fetched a page at a time; only those in
        ``states`` (e.g. ``["COMPLETED"]``) when given."""
        wanted = [pb.Trial.State.Value(s) if isinstance(s, str) else s for s in states or ()]
        token = ""
        while True:
            page, _ = self.client._call(
                "ListTrials",
                pb.ListTrialsRequest(
                    experiment=self.name, page_size=page_size, page_token=token, states=wanted
                ),
            )
            for t in page.trials:
                yield self._trial(t)
            token = page.next_page_token
            if not token:
                return

    def best_trials(self) -> List["Trial"]:
        """The best completed trial, or for several objectives the Pareto front;
        empty while none has completed."""
        got, _ = self.client._call("GetBest", pb.GetBestRequest(experiment=self.name))
        return [self._trial(t) for t in got.trials]

    def best(self) -> Optional["Trial"]:
        """The best completed trial (ties go to the earliest), None while none has
        completed. For several objectives use :meth:`best_trials`."""
        if len(self._proto.objectives) > 1:
            raise ValueError(
                f"experiment {self.name!r} has {len(self._proto.objectives)} objectives; "
                "best_trials() gives its Pareto front"
            )
        trials = self.best_trials()
        return trials[0] if trials else None

    def add_trial(
        self,
        params: Mapping[str, Any],
        metrics: Optional[Union[float, Metrics]] = None,
        *,
        failed: bool = False,
    ) -> "Trial":
        """Records a configuration evaluated elsewhere, with its result (warm start).
        It teaches the algorithm and does not count towards ``max_trials``.
        Not retried: a retry could record it twice."""
        req = pb.AddTrialRequest(experiment=self.name, failed=failed)
        for k, v in params.items():
            req.parameters[k].CopyFrom(_py_to_value(k, v))
        first = self._proto.objectives[0].name if self._proto.objectives else None
        for k, v in _metrics(first, metrics, {}).items():
            req.metrics[k] = v
        got, _ = self.client._call("AddTrial", req, retry=False)
        return self._trial(got)

    def enqueue(self, params: Mapping[str, Any]) -> "Trial":
        """Queues a configuration (some or all parameters) to be handed out before any
        the algorithm suggests. Not retried."""
        req = pb.EnqueueTrialRequest(experiment=self.name)
        for k, v in params.items():
            req.parameters[k].CopyFrom(_py_to_value(k, v))
        got, _ = self.client._call("EnqueueTrial", req, retry=False)
        return self._trial(got)

    # -- running an objective ------------------------------------------------------------

    def optimize(
        self,
        fn: Objective,
        n_trials: Optional[int] = None,
        n_workers: int = 1,
        *,
        timeout: Optional[float] = None,
        catch: Tuple[type, ...] = (Exception,),
        heartbeat: bool = True,
    ) -> List["Trial"]:
        """Runs ``fn`` on trials in ``n_workers`` threads until ``n_trials`` trials ran
        here, ``timeout`` seconds passed, or the experiment hands out no more.

        ``fn(trial)`` returns a number (the first objective's value), a dict of metrics,
        or None if it reported the trial itself. If it raises :class:`TrialPruned` the
        trial ends PRUNED; any exception in ``catch`` fails the trial and the loop goes
        on; any other fails the trial, stops the workers and is raised here. While
        ``parallel_trials`` trials run (RESOURCE_EXHAUSTED) a worker waits and asks again.

        Interrupted (Ctrl-C: ``KeyboardInterrupt`` in the calling thread), it releases
        the trials that are running (:meth:`Trial.release`), so that they run again at
        once, here or at any other worker, with no failure counted, and re-raises.
        Whatever ``fn`` still does in its (daemon) thread is not reported.

        Returns the trials this call ran, as they ended.
        """
        if n_workers < 1:
            raise ValueError("n_workers must be >= 1")
        lock = threading.Lock()
        stop = threading.Event()
        started = 0
        done: List[Trial] = []
        running: Dict[int, Trial] = {}  # by number: the trials fn runs now
        fatal: List[BaseException] = []
        deadline = None if timeout is None else time.monotonic() + timeout

        def worker() -> None:
            nonlocal started
            backoff = 0.02
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    return
                with lock:
                    if n_trials is not None and started >= n_trials:
                        return
                    started += 1
                try:
                    trial = self.suggest()
                except ResourceExhaustedError:
                    with lock:
                        started -= 1
                    stop.wait(backoff * (0.5 + random.random() / 2))
                    backoff = min(backoff * 2, 1.0)
                    continue
                except FailedPreconditionError:
                    with lock:
                        started -= 1
                    return
                except BaseException as e:  # noqa: BLE001 - handed to the caller
                    with lock:
                        started -= 1
                        fatal.append(e)
                    stop.set()
                    return
                backoff = 0.02
                with lock:
                    stopped = stop.is_set()
                    if not stopped:
                        running[trial.number] = trial
                if stopped:  # interrupted while asking: hand it straight back
                    trial._release_on_interrupt("optimize() stopped before running it")
                    return
                try:
                    trial._run(fn, catch, heartbeat)
                except BaseException as e:  # noqa: BLE001 - handed to the caller
                    with lock:
                        fatal.append(e)
                    stop.set()
                    return
                finally:
                    with lock:
                        running.pop(trial.number, None)
                        if not trial._released:
                            done.append(trial)

        threads = [
            threading.Thread(target=worker, name=f"hpo-{self.name}-{i}", daemon=True)
            for i in range(n_workers)
        ]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.1)
        except BaseException as e:
            # Interrupted (Ctrl-C lands here, in the calling thread): the workers'
            # trials are not failures; hand them back so that they run again at once,
            # here or at any other worker, then re-raise. The worker threads are
            # daemons: what their fn still does is not reported.
            with lock:
                stop.set()
                abandoned = list(running.values())
            for trial in abandoned:
                trial._release_on_interrupt(f"optimize() was interrupted ({type(e).__name__})")
            raise
        if fatal:
            raise fatal[0]
        return sorted(done, key=lambda t: t.number)


class Trial:
    """One trial: its ``number``, its ``params`` as plain Python values, and the
    methods that report it. Also a context manager (see :meth:`Experiment.trial`)."""

    def __init__(self, experiment: Experiment, proto: pb.Trial) -> None:
        self.experiment = experiment
        self._set(proto)
        self._heartbeat_in_with = True
        self._keepalive: Optional[contextlib.ExitStack] = None
        # Set once this worker hands the trial back: its run is abandoned, so nothing
        # more is reported (a late report would be refused anyway).
        self._released = False
        self.should_stop = False
        self.stop_reason = ""

    def _set(self, proto: pb.Trial) -> None:
        self.proto = proto
        self.number: int = proto.number
        self.worker_id: str = proto.worker_id
        params = self.experiment._params
        self.params: Dict[str, Any] = {
            k: python_value(params.get(k), v) for k, v in sorted(proto.parameters.items())
        }

    def __repr__(self) -> str:
        return f"Trial({self.experiment.name!r}, {self.number}, {self.state}, {self.params})"

    @property
    def state(self) -> str:
        """``"WAITING"``, ``"RUNNING"``, ``"COMPLETED"``, ``"PRUNED"`` or ``"FAILED"``,
        as last seen by this client."""
        return pb.Trial.State.Name(self.proto.state)

    @property
    def metrics(self) -> Dict[str, float]:
        """The metrics reported for the trial."""
        return dict(self.proto.metrics)

    @property
    def value(self) -> Optional[float]:
        """The first objective's reported value, if any."""
        objectives = self.experiment._proto.objectives
        if not objectives:
            return None
        return self.proto.metrics.get(objectives[0].name)

    @property
    def finished(self) -> bool:
        """True once the trial is COMPLETED, PRUNED or FAILED."""
        return self.proto.state in (pb.Trial.COMPLETED, pb.Trial.PRUNED, pb.Trial.FAILED)

    def _first_objective(self) -> Optional[str]:
        objectives = self.experiment._proto.objectives
        return objectives[0].name if objectives else None

    def _report(self, req: pb.ReportResultRequest) -> "Trial":
        got, _ = self.experiment.client._call("ReportResult", req)
        self._set(got)
        return self

    def report(
        self, value: Optional[Union[float, Metrics]] = None, /, **metrics: float
    ) -> "Trial":
        """Completes the trial with its metrics: ``trial.report(accuracy=0.93,
        loss=0.2)``, ``trial.report({"accuracy": 0.93})``, or ``trial.report(0.93)`` for
        the first objective. Every objective's metric must be there. Safe to retry."""
        req = pb.ReportResultRequest(
            experiment=self.experiment.name, trial=self.number, worker_id=self.worker_id
        )
        for k, v in _metrics(self._first_objective(), value, metrics).items():
            req.metrics[k] = v
        return self._report(req)

    def report_intermediate(
        self, step: int, value: Optional[Union[float, Metrics]] = None, /, **metrics: float
    ) -> bool:
        """Records the trial's metrics at ``step`` (an epoch, an iteration; increasing)
        and returns True when the experiment's early-stopping rule says to stop now (then
        call :meth:`prune` or raise :class:`TrialPruned`). The first objective's metric
        must be there."""
        req = pb.ReportIntermediateRequest(
            experiment=self.experiment.name,
            trial=self.number,
            step=step,
            worker_id=self.worker_id,
        )
        for k, v in _metrics(self._first_objective(), value, metrics).items():
            req.metrics[k] = v
        got, _ = self.experiment.client._call("ReportIntermediate", req)
        self.should_stop = got.should_stop
        self.stop_reason = got.reason
        return got.should_stop

    def prune(self, value: Optional[Union[float, Metrics]] = None, /, **metrics: float) -> "Trial":
        """Ends the trial PRUNED (stopped early), with its last metrics if given."""
        req = pb.ReportResultRequest(
            experiment=self.experiment.name,
            trial=self.number,
            worker_id=self.worker_id,
            pruned=True,
        )
        if value is not None or metrics:
            for k, v in _metrics(self._first_objective(), value, metrics).items():
                req.metrics[k] = v
        return self._report(req)

    def fail(self, reason: str = "") -> "Trial":
        """Ends the trial FAILED, with a reason for a person to read."""
        req = pb.ReportResultRequest(
            experiment=self.experiment.name,
            trial=self.number,
            worker_id=self.worker_id,
            failed=True,
            failure_reason=reason,
        )
        return self._report(req)

    def heartbeat(self) -> "Trial":
        """Extends the trial's lease (the server takes a trial back from a worker that
        neither heartbeats nor reports within the experiment's ``trial_lease``)."""
        got, _ = self.experiment.client._call(
            "Heartbeat",
            pb.HeartbeatRequest(
                experiment=self.experiment.name, trial=self.number, worker_id=self.worker_id
            ),
        )
        self._set(got)
        return self

    def release(self, reason: str = "") -> "Trial":
        """Hands the trial back unfinished, for a worker that is interrupted (Ctrl-C, a
        node drained): it goes back to WAITING at once with the same parameters, the
        intermediate values of the abandoned run are dropped, it is handed out again
        before any new trial, and no failure is counted. ``reason`` is for the server's
        log. Safe to retry.

        Raises:
            FailedPreconditionError: the trial is finished, or leased to another worker.
        """
        got, _ = self.experiment.client._call(
            "ReleaseTrial",
            pb.ReleaseTrialRequest(
                experiment=self.experiment.name,
                trial=self.number,
                worker_id=self.worker_id,
                reason=reason,
            ),
        )
        self._released = True
        self._set(got)
        return self

    def _release_on_interrupt(self, reason: str) -> None:
        """Releases the trial as its run is abandoned, without retrying or raising: the
        caller is on its way out. If the server cannot be reached, the trial's lease
        hands it out again when it expires."""
        self._released = True  # first: a worker thread still running fn reports nothing
        try:
            got, _ = self.experiment.client._call(
                "ReleaseTrial",
                pb.ReleaseTrialRequest(
                    experiment=self.experiment.name,
                    trial=self.number,
                    worker_id=self.worker_id,
                    reason=reason,
                ),
                retry=False,
            )
        except FailedPreconditionError as e:  # it ended meanwhile, or is not ours
            log.info("trial %d: not handed back: %s", self.number, e)
            return
        except HpoError as e:
            log.warning(
                "trial %d: could not hand it back (%s); it is handed out again when its "
                "lease expires",
                self.number,
                e,
            )
            return
        self._set(got)
        log.info("trial %d: handed back (%s)", self.number, reason)

    @contextlib.contextmanager
    def keep_alive(self, interval: Optional[float] = None) -> Iterator["Trial"]:
        """Heartbeats the trial from a background thread every ``interval`` seconds
        (default: a third of the lease) while the block runs."""
        if interval is None:
            interval = max(self.experiment.lease_seconds / 3, 0.05)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(interval) and not self._released:
                try:
                    self.experiment.client._call(
                        "Heartbeat",
                        pb.HeartbeatRequest(
                            experiment=self.experiment.name,
                            trial=self.number,
                            worker_id=self.worker_id,
                        ),
                    )
                except (FailedPreconditionError, NotFoundError) as e:
                    if not self._released:
                        log.warning("trial %d: heartbeat refused, stopping: %s", self.number, e)
                    return
                except HpoError as e:
                    log.warning("trial %d: heartbeat failed: %s", self.number, e)

        thread = threading.Thread(target=beat, name=f"hpo-heartbeat-{self.number}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    # -- the with statement ------------------------------------------------------------------

    def __enter__(self) -> "Trial":
        if self._heartbeat_in_with:
            stack = contextlib.ExitStack()
            stack.enter_context(self.keep_alive())
            self._keepalive = stack
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> bool:
        if self._keepalive is not None:
            self._keepalive.close()
            self._keepalive = None
        if self.finished or self._released:
            return False
        if exc is None:
            warnings.warn(
                f"trial {self.number}: the with block ended without reporting; "
                "reporting it failed",
                RuntimeWarning,
                stacklevel=2,
            )
            self.fail("the worker's with block ended without reporting a result")
            return False
        if isinstance(exc, TrialPruned):
            self.prune()
            return True
        if isinstance(exc, KeyboardInterrupt):
            # Not the trial's failure: hand it back to run again.
            self._release_on_interrupt("interrupted")
            return False
        try:
            self.fail(f"{exc_type.__name__}: {exc}"[:1000])
        except HpoError as e:
            log.warning("trial %d: could not report the failure: %s", self.number, e)
        return False

    def _run(self, fn: Objective, catch: Tuple[type, ...], heartbeat: bool) -> None:
        """Runs ``fn`` on this trial and reports what it returned or raised."""
        keep = self.keep_alive() if heartbeat else contextlib.nullcontext(self)
        try:
            with keep:
                try:
                    result = fn(self)
                except TrialPruned:
                    if not self.finished and not self._released:
                        self.prune()
                    return
                except KeyboardInterrupt:
                    raise  # released below, once the heartbeats have stopped
                except catch as e:
                    log.warning("trial %d failed: %s: %s", self.number, type(e).__name__, e)
                    if not self.finished and not self._released:
                        self.fail(f"{type(e).__name__}: {e}"[:1000])
                    return
                except BaseException as e:
                    if not self.finished and not self._released:
                        try:
                            self.fail(f"{type(e).__name__}: {e}"[:1000])
                        except HpoError:
                            pass
                    raise
        except KeyboardInterrupt:
            if not self.finished and not self._released:
                self._release_on_interrupt("interrupted")
            raise
        if self.finished or self._released:
            # Released meanwhile (optimize() was interrupted): another worker runs it.
            return
        if result is None:
            self.fail("the objective returned None and did not report the trial")
            return
        try:
            self.report(result)
        except (errors.InvalidArgumentError, TypeError, ValueError) as e:
            log.warning("trial %d: result %r refused: %s", self.number, result, e)
            self.fail(f"the objective's result was refused: {e}"[:1000])
