"""The server's gRPC status codes as Python exceptions.

Every error the client raises for a failed call is an :class:`HpoError`; its subclass
says which status code the server answered with, and ``str(error)`` is the server's own
message, which starts with the path of the offending field, e.g.
``experiment.parameters[2].double_range.min: must be <= max (min 2, max 1)``.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

import grpc

__all__ = [
    "HpoError",
    "CancelledError",
    "UnknownError",
    "InvalidArgumentError",
    "DeadlineExceededError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "UnavailableError",
    "DataLossError",
    "UnauthenticatedError",
    "from_rpc_error",
]


class HpoError(Exception):
    """A call to the hpo server failed.

    Attributes:
        code: the gRPC status code (``grpc.StatusCode``), or None for errors raised by
            the client itself.
        message: the server's message, as it sent it.
        method: the RPC that failed, e.g. ``"GetTrialConfig"``, when known.
    """

    code: Optional[grpc.StatusCode] = None

    def __init__(
        self,
        message: str,
        *,
        code: Optional[grpc.StatusCode] = None,
        method: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.method = method

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        code = self.code.name if self.code is not None else None
        return f"{type(self).__name__}({self.message!r}, code={code}, method={self.method!r})"


class CancelledError(HpoError):
    """CANCELLED: the call was cancelled, usually by the caller."""

    code = grpc.StatusCode.CANCELLED


class UnknownError(HpoError):
    """UNKNOWN: an error the server did not classify."""

    code = grpc.StatusCode.UNKNOWN


class InvalidArgumentError(HpoError):
    """INVALID_ARGUMENT: bad input; the message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceededError(HpoError):
    """DEADLINE_EXCEEDED: the call's timeout passed before an answer came."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFoundError(HpoError):
    """NOT_FOUND: no such experiment or trial."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(HpoError):
    """ALREADY_EXISTS: an experiment of that name exists."""

    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(HpoError):
    """PERMISSION_DENIED: the token's role does not allow this call.

    Roles (the server's ``--auth_tokens`` file): ``read`` reads experiments and trials;
    ``worker`` also asks for trials and reports them (and adds and enqueues trials);
    ``admin`` also creates, stops, resumes and deletes experiments. Not retried.
    """

    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(HpoError):
    """RESOURCE_EXHAUSTED: the experiment already runs ``parallel_trials`` trials.

    Try again after one of them reports; :meth:`Experiment.optimize` does so by itself.
    """

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPreconditionError(HpoError):
    """FAILED_PRECONDITION: not in this state.

    For example: asking a trial of an experiment that is STOPPED, COMPLETED or has
    handed out all ``max_trials``; reporting a different result for a finished trial;
    reporting a trial whose lease passed to another worker.
    """

    code = grpc.StatusCode.FAILED_PRECONDITION


class AbortedError(HpoError):
    """ABORTED."""

    code = grpc.StatusCode.ABORTED


class OutOfRangeError(HpoError):
    """OUT_OF_RANGE."""

    code = grpc.StatusCode.OUT_OF_RANGE


class UnimplementedError(HpoError):
    """UNIMPLEMENTED: the server does not offer this call (an older server?)."""

    code = grpc.StatusCode.UNIMPLEMENTED


class InternalError(HpoError):
    """INTERNAL: the server failed (e.g. its database)."""

    code = grpc.StatusCode.INTERNAL


class UnavailableError(HpoError):
    """UNAVAILABLE: the server cannot be reached (after the client's retries)."""

    code = grpc.StatusCode.UNAVAILABLE


class DataLossError(HpoError):
    """DATA_LOSS."""

    code = grpc.StatusCode.DATA_LOSS


class UnauthenticatedError(HpoError):
    """UNAUTHENTICATED: the server wants a bearer token and got none, or one it does
    not know (``token=`` or ``$HPO_TOKEN``; the message says which). Not retried."""

    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[grpc.StatusCode, Type[HpoError]] = {
    cls.code: cls
    for cls in (
        CancelledError,
        UnknownError,
        InvalidArgumentError,
        DeadlineExceededError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        ResourceExhaustedError,
        FailedPreconditionError,
        AbortedError,
        OutOfRangeError,
        UnimplementedError,
        InternalError,
        UnavailableError,
        DataLossError,
        UnauthenticatedError,
    )
    if cls.code is not None
}


def from_rpc_error(error: grpc.RpcError, method: Optional[str] = None) -> HpoError:
    """The :class:`HpoError` subclass for a failed gRPC call, with its message."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else None
    message = details or (code.name if code is not None else str(error))
    cls = _BY_CODE.get(code, HpoError) if code is not None else HpoError
    return cls(message, code=code, method=method)
