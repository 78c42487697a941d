"""hpo_client: a Python client for the hpo hyperparameter-optimization service.

    from hpo_client import Client, choice, intrange, loguniform, uniform

    client = Client("localhost:50051")
    exp = client.create_experiment(
        "mnist",
        space={
            "lr": loguniform(1e-5, 1e-1),
            "layers": intrange(1, 4),
            "opt": choice(["adam", "sgd"]),
            "momentum": uniform(0, 0.99, when={"opt": ["sgd"]}),
        },
        objective="accuracy", goal="maximize",
        max_trials=20, parallel_trials=4,
    )
    exp.optimize(lambda t: train(**t.params), n_trials=20, n_workers=4)
    print(exp.best().params)

The generated messages and stub are in ``hpo_client.v1`` (``hpo_pb2``,
``hpo_pb2_grpc``); the Ray Tune searcher is ``hpo_client.ray.HpoSearch``; the Optuna
sampler and pruner are ``hpo_client.optuna.HpoSampler`` and ``HpoPruner``.
"""

from .client import Client, Experiment, Trial, TrialPruned
from .errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    HpoError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)
from .space import (
    Param,
    choice,
    intrange,
    loguniform,
    lognormal,
    normal,
    qloguniform,
    quniform,
    uniform,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Experiment",
    "Trial",
    "TrialPruned",
    "Param",
    "uniform",
    "loguniform",
    "quniform",
    "qloguniform",
    "normal",
    "lognormal",
    "intrange",
    "choice",
    "HpoError",
    "AbortedError",
    "AlreadyExistsError",
    "CancelledError",
    "DataLossError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
]
