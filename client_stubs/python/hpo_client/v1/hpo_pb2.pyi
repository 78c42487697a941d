import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_READ: _ClassVar[Role]
    ROLE_WORKER: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class Distribution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISTRIBUTION_UNSPECIFIED: _ClassVar[Distribution]
    UNIFORM: _ClassVar[Distribution]
    LOG_UNIFORM: _ClassVar[Distribution]
    NORMAL: _ClassVar[Distribution]
    LOG_NORMAL: _ClassVar[Distribution]
ROLE_UNSPECIFIED: Role
ROLE_READ: Role
ROLE_WORKER: Role
ROLE_ADMIN: Role
DISTRIBUTION_UNSPECIFIED: Distribution
UNIFORM: Distribution
LOG_UNIFORM: Distribution
NORMAL: Distribution
LOG_NORMAL: Distribution
REQUIRED_ROLE_FIELD_NUMBER: _ClassVar[int]
required_role: _descriptor.FieldDescriptor

class DoubleRange(_message.Message):
    __slots__ = ("min", "max", "log", "step", "distribution", "mu", "sigma", "q")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MU_FIELD_NUMBER: _ClassVar[int]
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    log: bool
    step: float
    distribution: Distribution
    mu: float
    sigma: float
    q: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ..., log: _Optional[bool] = ..., step: _Optional[float] = ..., distribution: _Optional[_Union[Distribution, str]] = ..., mu: _Optional[float] = ..., sigma: _Optional[float] = ..., q: _Optional[float] = ...) -> None: ...

class IntRange(_message.Message):
    __slots__ = ("min", "max", "log", "step", "distribution", "mu", "sigma")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MU_FIELD_NUMBER: _ClassVar[int]
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    min: int
    max: int
    log: bool
    step: int
    distribution: Distribution
    mu: float
    sigma: float
    def __init__(self, min: _Optional[int] = ..., max: _Optional[int] = ..., log: _Optional[bool] = ..., step: _Optional[int] = ..., distribution: _Optional[_Union[Distribution, str]] = ..., mu: _Optional[float] = ..., sigma: _Optional[float] = ...) -> None: ...

class Categorical(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class Discrete(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("parent", "values")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    parent: str
    values: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Value]
    def __init__(self, parent: _Optional[str] = ..., values: _Optional[_Iterable[_Union[_struct_pb2.Value, _Mapping]]] = ...) -> None: ...

class Parameter(_message.Message):
    __slots__ = ("name", "double_range", "int_range", "categorical", "discrete", "condition")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_RANGE_FIELD_NUMBER: _ClassVar[int]
    INT_RANGE_FIELD_NUMBER: _ClassVar[int]
    CATEGORICAL_FIELD_NUMBER: _ClassVar[int]
    DISCRETE_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    name: str
    double_range: DoubleRange
    int_range: IntRange
    categorical: Categorical
    discrete: Discrete
    condition: Condition
    def __init__(self, name: _Optional[str] = ..., double_range: _Optional[_Union[DoubleRange, _Mapping]] = ..., int_range: _Optional[_Union[IntRange, _Mapping]] = ..., categorical: _Optional[_Union[Categorical, _Mapping]] = ..., discrete: _Optional[_Union[Discrete, _Mapping]] = ..., condition: _Optional[_Union[Condition, _Mapping]] = ...) -> None: ...

class Objective(_message.Message):
    __slots__ = ("name", "goal", "target")
    class Goal(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        GOAL_UNSPECIFIED: _ClassVar[Objective.Goal]
        MINIMIZE: _ClassVar[Objective.Goal]
        MAXIMIZE: _ClassVar[Objective.Goal]
    GOAL_UNSPECIFIED: Objective.Goal
    MINIMIZE: Objective.Goal
    MAXIMIZE: Objective.Goal
    NAME_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    goal: Objective.Goal
    target: float
    def __init__(self, name: _Optional[str] = ..., goal: _Optional[_Union[Objective.Goal, str]] = ..., target: _Optional[float] = ...) -> None: ...

class Algorithm(_message.Message):
    __slots__ = ("name", "settings")
    class SettingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    settings: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., settings: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EarlyStopping(_message.Message):
    __slots__ = ("name", "settings")
    class SettingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    settings: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., settings: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Experiment(_message.Message):
    __slots__ = ("name", "description", "parameters", "objectives", "algorithm", "max_trials", "parallel_trials", "max_failed_trials", "max_duration", "trial_lease", "early_stopping", "seed", "state", "status", "create_time", "update_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Experiment.State]
        CREATED: _ClassVar[Experiment.State]
        RUNNING: _ClassVar[Experiment.State]
        STOPPED: _ClassVar[Experiment.State]
        COMPLETED: _ClassVar[Experiment.State]
        FAILED: _ClassVar[Experiment.State]
        TIMED_OUT: _ClassVar[Experiment.State]
    STATE_UNSPECIFIED: Experiment.State
    CREATED: Experiment.State
    RUNNING: Experiment.State
    STOPPED: Experiment.State
    COMPLETED: Experiment.State
    FAILED: Experiment.State
    TIMED_OUT: Experiment.State
    class Status(_message.Message):
        __slots__ = ("trials", "running", "completed", "failed", "pruned", "waiting", "message", "algorithm", "algorithm_reason")
        TRIALS_FIELD_NUMBER: _ClassVar[int]
        RUNNING_FIELD_NUMBER: _ClassVar[int]
        COMPLETED_FIELD_NUMBER: _ClassVar[int]
        FAILED_FIELD_NUMBER: _ClassVar[int]
        PRUNED_FIELD_NUMBER: _ClassVar[int]
        WAITING_FIELD_NUMBER: _ClassVar[int]
        MESSAGE_FIELD_NUMBER: _ClassVar[int]
        ALGORITHM_FIELD_NUMBER: _ClassVar[int]
        ALGORITHM_REASON_FIELD_NUMBER: _ClassVar[int]
        trials: int
        running: int
        completed: int
        failed: int
        pruned: int
        waiting: int
        message: str
        algorithm: str
        algorithm_reason: str
        def __init__(self, trials: _Optional[int] = ..., running: _Optional[int] = ..., completed: _Optional[int] = ..., failed: _Optional[int] = ..., pruned: _Optional[int] = ..., waiting: _Optional[int] = ..., message: _Optional[str] = ..., algorithm: _Optional[str] = ..., algorithm_reason: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVES_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    MAX_TRIALS_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_TRIALS_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILED_TRIALS_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_FIELD_NUMBER: _ClassVar[int]
    TRIAL_LEASE_FIELD_NUMBER: _ClassVar[int]
    EARLY_STOPPING_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    objectives: _containers.RepeatedCompositeFieldContainer[Objective]
    algorithm: Algorithm
    max_trials: int
    parallel_trials: int
    max_failed_trials: int
    max_duration: _duration_pb2.Duration
    trial_lease: _duration_pb2.Duration
    early_stopping: EarlyStopping
    seed: int
    state: Experiment.State
    status: Experiment.Status
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., objectives: _Optional[_Iterable[_Union[Objective, _Mapping]]] = ..., algorithm: _Optional[_Union[Algorithm, _Mapping]] = ..., max_trials: _Optional[int] = ..., parallel_trials: _Optional[int] = ..., max_failed_trials: _Optional[int] = ..., max_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., trial_lease: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., early_stopping: _Optional[_Union[EarlyStopping, _Mapping]] = ..., seed: _Optional[int] = ..., state: _Optional[_Union[Experiment.State, str]] = ..., status: _Optional[_Union[Experiment.Status, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IntermediateValue(_message.Message):
    __slots__ = ("step", "metrics", "time")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    step: int
    metrics: _containers.ScalarMap[str, float]
    time: _timestamp_pb2.Timestamp
    def __init__(self, step: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("experiment", "number", "state", "parameters", "metrics", "worker_id", "failure_reason", "start_time", "end_time", "lease_expire_time", "origin", "intermediate_values", "prune_reason", "sampler_data", "algorithm")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Trial.State]
        WAITING: _ClassVar[Trial.State]
        RUNNING: _ClassVar[Trial.State]
        COMPLETED: _ClassVar[Trial.State]
        PRUNED: _ClassVar[Trial.State]
        FAILED: _ClassVar[Trial.State]
    STATE_UNSPECIFIED: Trial.State
    WAITING: Trial.State
    RUNNING: Trial.State
    COMPLETED: Trial.State
    PRUNED: Trial.State
    FAILED: Trial.State
    class Origin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ORIGIN_UNSPECIFIED: _ClassVar[Trial.Origin]
        SUGGESTED: _ClassVar[Trial.Origin]
        ENQUEUED: _ClassVar[Trial.Origin]
        ADDED: _ClassVar[Trial.Origin]
    ORIGIN_UNSPECIFIED: Trial.Origin
    SUGGESTED: Trial.Origin
    ENQUEUED: Trial.Origin
    ADDED: Trial.Origin
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATE_VALUES_FIELD_NUMBER: _ClassVar[int]
    PRUNE_REASON_FIELD_NUMBER: _ClassVar[int]
    SAMPLER_DATA_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    number: int
    state: Trial.State
    parameters: _containers.MessageMap[str, _struct_pb2.Value]
    metrics: _containers.ScalarMap[str, float]
    worker_id: str
    failure_reason: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    lease_expire_time: _timestamp_pb2.Timestamp
    origin: Trial.Origin
    intermediate_values: _containers.RepeatedCompositeFieldContainer[IntermediateValue]
    prune_reason: str
    sampler_data: str
    algorithm: str
    def __init__(self, experiment: _Optional[str] = ..., number: _Optional[int] = ..., state: _Optional[_Union[Trial.State, str]] = ..., parameters: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., worker_id: _Optional[str] = ..., failure_reason: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin: _Optional[_Union[Trial.Origin, str]] = ..., intermediate_values: _Optional[_Iterable[_Union[IntermediateValue, _Mapping]]] = ..., prune_reason: _Optional[str] = ..., sampler_data: _Optional[str] = ..., algorithm: _Optional[str] = ...) -> None: ...

class ImportSpec(_message.Message):
    __slots__ = ("format", "content", "name")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    format: str
    content: str
    name: str
    def __init__(self, format: _Optional[str] = ..., content: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateExperimentRequest(_message.Message):
    __slots__ = ("experiment", "import_spec")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    IMPORT_SPEC_FIELD_NUMBER: _ClassVar[int]
    experiment: Experiment
    import_spec: ImportSpec
    def __init__(self, experiment: _Optional[_Union[Experiment, _Mapping]] = ..., import_spec: _Optional[_Union[ImportSpec, _Mapping]] = ...) -> None: ...

class GetExperimentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListExperimentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExperimentsResponse(_message.Message):
    __slots__ = ("experiments", "next_page_token")
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedCompositeFieldContainer[Experiment]
    next_page_token: str
    def __init__(self, experiments: _Optional[_Iterable[_Union[Experiment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteExperimentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetTrialConfigRequest(_message.Message):
    __slots__ = ("experiment", "worker_id", "trial")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    worker_id: str
    trial: int
    def __init__(self, experiment: _Optional[str] = ..., worker_id: _Optional[str] = ..., trial: _Optional[int] = ...) -> None: ...

class ReportResultRequest(_message.Message):
    __slots__ = ("experiment", "trial", "metrics", "failed", "failure_reason", "worker_id", "pruned")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    PRUNED_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    trial: int
    metrics: _containers.ScalarMap[str, float]
    failed: bool
    failure_reason: str
    worker_id: str
    pruned: bool
    def __init__(self, experiment: _Optional[str] = ..., trial: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., failed: _Optional[bool] = ..., failure_reason: _Optional[str] = ..., worker_id: _Optional[str] = ..., pruned: _Optional[bool] = ...) -> None: ...

class ReportIntermediateRequest(_message.Message):
    __slots__ = ("experiment", "trial", "step", "metrics", "worker_id")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    trial: int
    step: int
    metrics: _containers.ScalarMap[str, float]
    worker_id: str
    def __init__(self, experiment: _Optional[str] = ..., trial: _Optional[int] = ..., step: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., worker_id: _Optional[str] = ...) -> None: ...

class ReportIntermediateResponse(_message.Message):
    __slots__ = ("should_stop", "reason", "bracket")
    SHOULD_STOP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BRACKET_FIELD_NUMBER: _ClassVar[int]
    should_stop: bool
    reason: str
    bracket: int
    def __init__(self, should_stop: _Optional[bool] = ..., reason: _Optional[str] = ..., bracket: _Optional[int] = ...) -> None: ...

class StopExperimentRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeExperimentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("experiment", "trial", "worker_id")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    trial: int
    worker_id: str
    def __init__(self, experiment: _Optional[str] = ..., trial: _Optional[int] = ..., worker_id: _Optional[str] = ...) -> None: ...

class ReleaseTrialRequest(_message.Message):
    __slots__ = ("experiment", "trial", "worker_id", "reason")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    trial: int
    worker_id: str
    reason: str
    def __init__(self, experiment: _Optional[str] = ..., trial: _Optional[int] = ..., worker_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AddTrialRequest(_message.Message):
    __slots__ = ("experiment", "parameters", "metrics", "failed")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    parameters: _containers.MessageMap[str, _struct_pb2.Value]
    metrics: _containers.ScalarMap[str, float]
    failed: bool
    def __init__(self, experiment: _Optional[str] = ..., parameters: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., failed: _Optional[bool] = ...) -> None: ...

class EnqueueTrialRequest(_message.Message):
    __slots__ = ("experiment", "parameters")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    parameters: _containers.MessageMap[str, _struct_pb2.Value]
    def __init__(self, experiment: _Optional[str] = ..., parameters: _Optional[_Mapping[str, _struct_pb2.Value]] = ...) -> None: ...

class GetBestRequest(_message.Message):
    __slots__ = ("experiment",)
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    def __init__(self, experiment: _Optional[str] = ...) -> None: ...

class GetBestResponse(_message.Message):
    __slots__ = ("trials",)
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    def __init__(self, trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ...) -> None: ...

class ListTrialsRequest(_message.Message):
    __slots__ = ("experiment", "page_size", "page_token", "states")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[Trial.State]
    def __init__(self, experiment: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[Trial.State, str]]] = ...) -> None: ...

class ListTrialsResponse(_message.Message):
    __slots__ = ("trials", "next_page_token")
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    next_page_token: str
    def __init__(self, trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
