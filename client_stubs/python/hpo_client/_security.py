"""Bearer tokens and TLS for :class:`hpo_client.Client`: reading the settings (arguments,
else ``$HPO_TOKEN``, ``$HPO_TLS_CA``, ``$HPO_TLS_CERT``, ``$HPO_TLS_KEY``), the channel
credentials, and the interceptor that sends the token on a plaintext channel."""

from __future__ import annotations

import collections
import os
from typing import Any, Callable, Optional, Tuple, Union

import grpc

PathLike = Union[str, "os.PathLike[str]"]

ENV_TOKEN = "HPO_TOKEN"
ENV_TLS_CA = "HPO_TLS_CA"
ENV_TLS_CERT = "HPO_TLS_CERT"
ENV_TLS_KEY = "HPO_TLS_KEY"


class Setting:
    """One setting's value and where it came from, for error messages."""

    def __init__(self, arg: str, env: str, value: Optional[Any]) -> None:
        self.arg, self.env = arg, env
        if value is None:
            self.value = os.environ.get(env) or None
            self.source = f"${env}"
        else:
            self.value = value if (not isinstance(value, str) or value) else None
            self.source = arg
        self.explicit = value is not None

    def __bool__(self) -> bool:
        return self.value is not None


def read_pem(setting: Setting) -> bytes:
    """The PEM file the setting names; ValueError naming the setting and the file."""
    path = os.fspath(setting.value)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"{setting.source}={path}: cannot read it: {e.strerror or e}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{setting.source}={path}: not a PEM file (no -----BEGIN line)")
    return data


def token_value(setting: Setting) -> Optional[str]:
    """The token, stripped of surrounding whitespace (a file's trailing newline); None
    when there is none. The token itself is never part of an error message."""
    if not setting:
        return None
    token = str(setting.value).strip()
    if not token:
        return None
    if any(c.isspace() or not c.isprintable() or ord(c) > 126 for c in token):
        where = "token=" if setting.explicit else setting.source
        raise ValueError(
            f"the token ({where}) holds whitespace or characters outside printable "
            "ASCII; it cannot be sent as a header"
        )
    return token


def tls_credentials(
    ca: Setting, cert: Setting, key: Setting
) -> Optional[grpc.ChannelCredentials]:
    """TLS channel credentials from the CA bundle and the client's certificate and key,
    or None when none of the three is set (plaintext)."""
    if bool(cert) != bool(key):
        given, missing = (cert, key) if cert else (key, cert)
        absent = (
            f"{missing.arg} is not"
            if missing.explicit
            else f"neither {missing.arg} nor ${missing.env} is"
        )
        raise ValueError(
            f"{given.source} is set but {absent}: a client certificate needs both the "
            "certificate and its private key"
        )
    if not ca and not cert:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=read_pem(ca) if ca else None,  # None: the system's roots
        private_key=read_pem(key) if key else None,
        certificate_chain=read_pem(cert) if cert else None,
    )


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer TOKEN`` to every call's metadata. For plaintext
    channels, where gRPC refuses call credentials ("Established channel does not have a
    sufficient security level to transfer call credential"), and for channels the
    caller opened."""

    def __init__(self, token: str) -> None:
        self._header: Tuple[str, str] = ("authorization", f"Bearer {token}")

    def __repr__(self) -> str:
        return "TokenInterceptor(<token>)"

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [m for m in (details.metadata or ()) if m[0].lower() != "authorization"]
        metadata.append(self._header)
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Callable, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Callable, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)
