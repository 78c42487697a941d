"""Fixtures: the real hpo-server binary on a free port with a temporary database.

The binary is $HPO_SERVER_BIN, else bazel-bin/server/hpo-server at the repository root
(scripts/test-clients.sh builds it). The package under test is this checkout's
client_stubs/python, ahead of any installed copy.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PYTHON_DIR.parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import hpo_client  # noqa: E402


def server_binary() -> Path:
    path = Path(os.environ.get("HPO_SERVER_BIN") or REPO_ROOT / "bazel-bin/server/hpo-server")
    if not path.is_file():
        pytest.exit(
            f"hpo-server not found at {path}: run `bazel build //server:hpo-server` "
            "or set HPO_SERVER_BIN",
            returncode=3,
        )
    return path


_FLAGS: Optional[str] = None


def server_flags() -> str:
    """The binary's --helpfull text, to pass newer flags only to a binary that has them."""
    global _FLAGS
    if _FLAGS is None:
        out = subprocess.run(
            [str(server_binary()), "--helpfull"], capture_output=True, text=True, timeout=30
        )
        _FLAGS = out.stdout + out.stderr
    return _FLAGS


class Server:
    """One hpo-server process; ``start()`` again after ``stop()`` reuses port and DB.

    ``args`` are more flags, after the usual ones (e.g. ``--tls_cert=...``,
    ``--auth_tokens=...``). Readiness is the port file, which the server writes once
    both of its ports serve, TLS or not: no call is needed, so no token either.
    """

    def __init__(self, workdir: Path, port: int = 0, args: Sequence[str] = ()) -> None:
        self.workdir = workdir
        self.db = workdir / "hpo.db"
        self.port = port
        self.args = list(args)
        self.proc: Optional[subprocess.Popen] = None
        self.log = workdir / "server.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        """The REST base URL the server printed (``http://`` or ``https://``), the last
        one in the log: that of the running process."""
        found = re.findall(r"^Access REST Service at (\S+)$", self.log.read_text(), re.M)
        if not found:
            raise RuntimeError(f"no REST URL in the server's log: {self.log.read_text()[-2000:]}")
        return found[-1]

    def start(self, timeout: float = 20) -> "Server":
        port_file = self.workdir / "port"
        if port_file.exists():
            port_file.unlink()
        args: List[str] = [
            str(server_binary()),
            "--host=127.0.0.1",
            f"--grpc_port={self.port}",
            f"--port_file={port_file}",
            f"--db={self.db}",
            "--log_level=info",
        ]
        if "--http_port" in server_flags():
            args.append("--http_port=0")  # never the default 8080, which may be taken
        args += self.args
        self.proc = subprocess.Popen(
            args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hpo-server exited: {self.log.read_text()[-2000:]}")
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text:
                self.port = int(text)
                return self
            time.sleep(0.02)
        raise RuntimeError(f"hpo-server did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="hpo-pytest-") as d:
        s = Server(Path(d)).start()
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture()
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own, for tests that stop and restart it."""
    s = Server(tmp_path).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def address(server: Server) -> str:
    return server.address


@pytest.fixture()
def client(address: str) -> Iterator[hpo_client.Client]:
    with hpo_client.Client(address, retry_timeout=5) as c:
        yield c


_counter = itertools.count()


@pytest.fixture()
def name(request: pytest.FixtureRequest) -> str:
    """A fresh, valid experiment name for the test."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50]
    return f"{base}-{next(_counter)}"
