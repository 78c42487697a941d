"""Talking to the real hpo server from Python: stubs, a server process, and
one benchmark run driven over gRPC.

Stubs: generated on the fly with grpcio-tools from proto/hpo/v1/hpo.proto
into a temporary directory (google/api/*.proto from googleapis-common-protos,
or from Debian's grpc-gateway copy), so they always match the proto; without
grpcio-tools, client_stubs/python's (the package hpo_client.v1).
"""

from __future__ import annotations

import atexit
import importlib
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Optional

REPO = pathlib.Path(__file__).resolve().parent.parent
DEBIAN_GOOGLEAPIS = pathlib.Path(
    "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis")

_stubs = None


def stubs():
    """(hpo_pb2, hpo_pb2_grpc)."""
    global _stubs
    if _stubs is not None:
        return _stubs
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError:
        return _ready_stubs()
    out = tempfile.mkdtemp(prefix="hpo-bench-stubs-")
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    wkt = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    includes = [REPO / "proto", wkt]
    try:
        import google.api  # googleapis-common-protos ships the .proto files
        for p in google.api.__path__:
            if (pathlib.Path(p) / "annotations.proto").exists():
                includes.append(pathlib.Path(p).parent.parent)
    except ImportError:
        pass
    includes.append(DEBIAN_GOOGLEAPIS)
    args = ["protoc"] + [f"-I{i}" for i in includes] + [
        f"--python_out={out}", f"--grpc_python_out={out}", "hpo/v1/hpo.proto"]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed on proto/hpo/v1/hpo.proto: " + " ".join(args))
    sys.path.insert(0, out)
    pb2 = importlib.import_module("hpo.v1.hpo_pb2")
    grpc_mod = importlib.import_module("hpo.v1.hpo_pb2_grpc")
    _stubs = (pb2, grpc_mod)
    return _stubs


def _ready_stubs():
    """client_stubs/python's generated modules (package hpo_client.v1)."""
    global _stubs
    ready = REPO / "client_stubs" / "python"
    sys.path.insert(0, str(ready))
    pb2 = importlib.import_module("hpo_client.v1.hpo_pb2")
    grpc_mod = importlib.import_module("hpo_client.v1.hpo_pb2_grpc")
    _stubs = (pb2, grpc_mod)
    return _stubs


def default_server_binary() -> pathlib.Path:
    return REPO / "bazel-bin" / "server" / "hpo-server"


class Server:
    """An hpo-server on a free loopback port over a fresh database; a context
    manager that stops it (SIGTERM) on exit."""

    def __init__(self, binary: Optional[str] = None, workdir: Optional[str] = None):
        import grpc
        _, pb2_grpc = stubs()
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="hpo-bench-server-")
        os.makedirs(self.dir, exist_ok=True)
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "server.log")
        binary = str(binary or default_server_binary())
        if not os.path.exists(binary):
            raise FileNotFoundError(
                f"{binary} not found: build it with `bazel build //server:hpo-server`")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "--host=127.0.0.1", "--grpc_port=0",
             f"--db={os.path.join(self.dir, 'hpo.db')}", f"--port_file={port_file}",
             "--log_level=warning"],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        port = 0
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hpo-server exited: see {self.log_path}")
            try:
                port = int(open(port_file).read().strip() or 0)
            except (FileNotFoundError, ValueError):
                port = 0
            if port > 0:
                break
            time.sleep(0.02)
        if port <= 0:
            self.stop()
            raise RuntimeError(f"hpo-server did not start: see {self.log_path}")
        self.address = f"127.0.0.1:{port}"
        self.channel = grpc.insecure_channel(self.address)
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = pb2_grpc.HpoServiceStub(self.channel)

    def stop(self):
        if getattr(self, "channel", None) is not None:
            self.channel.close()
            self.channel = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        if self._own_dir and self.proc.returncode == 0:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def experiment(name: str, parameters: list[dict], algorithm: str,
               settings: dict, seed: int, max_trials: int, parallel_trials: int = 1):
    from google.protobuf import json_format
    pb2, _ = stubs()
    spec = {
        "name": name,
        "parameters": parameters,
        "objectives": [{"name": "value", "goal": "MINIMIZE"}],
        "algorithm": {"name": algorithm, "settings": {k: str(v) for k, v in settings.items()}},
        "maxTrials": max_trials,
        "parallelTrials": parallel_trials,
        "seed": seed,
    }
    return json_format.ParseDict(spec, pb2.Experiment())


def trial_params(trial) -> dict:
    """A Trial's parameters as plain Python values (numbers are floats)."""
    out = {}
    for name, v in trial.parameters.items():
        kind = v.WhichOneof("kind")
        out[name] = v.string_value if kind == "string_value" else v.number_value
    return out


def registered_samplers(server: Server) -> list[str]:
    """The server's algorithm names, read from its refusal of an unknown one."""
    import grpc
    import re
    pb2, _ = stubs()
    e = experiment("bench-probe-names", [{"name": "x", "doubleRange": {"min": 0, "max": 1}}],
                   "no-such-algorithm-bench-probe", {}, 0, 1)
    try:
        server.stub.CreateExperiment(pb2.CreateExperimentRequest(experiment=e))
    except grpc.RpcError as err:
        m = re.search(r"\(known: ([^)]*)\)", err.details() or "")
        if m:
            return [s.strip() for s in m.group(1).split(",") if s.strip()]
        raise
    server.stub.DeleteExperiment(pb2.DeleteExperimentRequest(name="bench-probe-names"))
    raise RuntimeError("the server accepted an unknown algorithm")


_counter = 0


def run_over_grpc(server: Server, problem, algorithm: str, settings: dict,
                  seed: int, budget: int, objective):
    """One run of hpo's `algorithm` on `problem` through the server, as a
    worker would: GetTrialConfig, evaluate, ReportResult, parallel_trials 1.

    Returns (status, message, values, trues, seconds, params) where seconds are
    GetTrialConfig round trips.
    """
    import grpc
    global _counter
    pb2, _ = stubs()
    _counter += 1
    name = f"b{os.getpid()}-{_counter}"
    e = experiment(name, problem.parameters, algorithm, settings, seed, budget)
    try:
        server.stub.CreateExperiment(pb2.CreateExperimentRequest(experiment=e))
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.INVALID_ARGUMENT:
            return "unsupported", err.details(), [], [], [], []
        raise
    values, trues, seconds, params = [], [], [], []
    status, message = "ok", ""
    try:
        for _ in range(budget):
            t0 = time.perf_counter()
            try:
                trial = server.stub.GetTrialConfig(
                    pb2.GetTrialConfigRequest(experiment=name, worker_id="bench"))
            except grpc.RpcError as err:
                if (err.code() == grpc.StatusCode.FAILED_PRECONDITION
                        and "exhausted" in (err.details() or "")):
                    status, message = "exhausted", err.details()
                    break
                status, message = "error", f"{err.code().name}: {err.details()}"
                break
            seconds.append(time.perf_counter() - t0)
            from problems import typed
            p = typed(problem.parameters, trial_params(trial))
            observed, true = objective(p)
            values.append(observed)
            trues.append(true)
            params.append(p)
            server.stub.ReportResult(pb2.ReportResultRequest(
                experiment=name, trial=trial.number, metrics={"value": observed},
                worker_id="bench"))
    finally:
        server.stub.DeleteExperiment(pb2.DeleteExperimentRequest(name=name))
    return status, message, values, trues, seconds, params
