"""Runs the pods of rendered manifests as local processes, the way the kubelet would run
them, so a test can check their wiring: each container's command and args with its env
(downward API, ConfigMap and Secret values filled in, $(VAR) expanded), the image mapped
to locally built binaries, volumes as directories (paths under a mountPath rewritten to the
directory; a Secret's laid out as the kubelet does, and updated in place when the Secret
changes), and probes sent to exactly the ports, paths and schemes the manifest names.

All pods share the loopback of the network namespace the tests run in (k8s/test.sh gives
them one of their own, with /etc/hosts naming each Service), as if every pod and Service
had the address 127.0.0.1.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import grpc
import yaml

REPO = Path(__file__).resolve().parents[2]


def render(overlay: str) -> List[dict]:
    """`kustomize build` of an overlay (what `kubectl apply -k` applies)."""
    kustomize = os.environ.get("HPO_KUSTOMIZE", "kustomize")
    out = subprocess.run([kustomize, "build", str(REPO / overlay)], check=True,
                         capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def find(objects: List[dict], kind: str, name: Optional[str] = None) -> dict:
    found = [o for o in objects if o["kind"] == kind and
             (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@dataclass
class Image:
    """What the image gives a container that names it: its entrypoint and default
    arguments (read from k8s/image/Containerfile), and where its files are here."""
    entrypoint: List[str]
    cmd: List[str]
    files: Dict[str, str]

    @staticmethod
    def from_containerfile(files: Dict[str, str]) -> "Image":
        text = (REPO / "k8s/image/Containerfile").read_text()
        def instruction(name: str) -> List[str]:
            m = re.search(rf"^{name}\s+(\[.*\])\s*$", text, re.M)
            return json.loads(m.group(1)) if m else []
        entrypoint = instruction("ENTRYPOINT")
        assert entrypoint, "k8s/image/Containerfile has no ENTRYPOINT [...]"
        return Image(entrypoint, instruction("CMD"), files)

    def local(self, path: str) -> str:
        assert path in self.files, f"{path} is not in the image (it has {sorted(self.files)})"
        return self.files[path]


def expand(text: str, env: Dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: $$ is a literal $, unknown names stay as written."""
    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)


def health_check(port: int, service: str = "", timeout: float = 1.0) -> str:
    """The kubelet's gRPC probe: grpc.health.v1.Health/Check, plaintext, no metadata.
    Returns the status name, or the error."""
    request = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/grpc.health.v1.Health/Check")
        try:
            response = call(request, timeout=timeout)
        except grpc.RpcError as e:
            return f"error {e.code().name}"
    status = response[1] if len(response) >= 2 and response[0] == 0x08 else 0
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(
        status, str(status))


def http_get(port: int, path: str, timeout: float = 2.0, scheme: str = "HTTP") -> int:
    """The kubelet's httpGet probe: the status, or 0 when there is no HTTP answer. With
    scheme HTTPS it speaks TLS and, like the kubelet, does not verify the certificate."""
    context = None
    if scheme == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    url = f"{scheme.lower()}://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, http.client.HTTPException):  # also plain HTTP to a TLS port
        return 0


def project(directory: Path, files: Dict[str, Tuple[bytes, int]]) -> None:
    """Writes a secret volume's files the way the kubelet's atomic writer does:
    into a new timestamped directory, then one rename of the `..data` link to it, with
    each file a link through `..data`. An update is a new directory and another rename,
    so a reader sees the old files or the new ones, never a mix; a subPath mount (a
    bind mount of one file) would keep the old file forever."""
    stamp = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{secrets.token_hex(4)}"
    stamp.mkdir()
    for name, (content, mode) in files.items():
        file = stamp / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content)
        file.chmod(mode)
    data = directory / "..data"
    old = os.readlink(data) if data.is_symlink() else None
    (directory / "..data_tmp").symlink_to(stamp.name)
    os.rename(directory / "..data_tmp", data)
    visible = {name.split("/")[0] for name in files}
    for name in visible:
        if not (directory / name).is_symlink():
            (directory / name).symlink_to(Path("..data") / name)
    for entry in directory.iterdir():
        if not entry.name.startswith("..") and entry.name not in visible:
            entry.unlink()
    if old is not None:
        shutil.rmtree(directory / old)


class Cluster:
    """The objects of one or more rendered overlays, the persistent volumes' directories
    (which outlive pods) and the image map."""

    def __init__(self, root: Path, image: Image):
        self.root = root
        self.image = image
        self.objects: List[dict] = []
        self.volumes: Dict[str, Path] = {}
        self.pods: List["Pod"] = []

    def apply(self, overlay: str) -> List[dict]:
        objects = render(overlay)
        self.objects += objects
        return objects

    def config_map(self, name: str) -> dict:
        return find(self.objects, "ConfigMap", name)

    def secret(self, name: str) -> Dict[str, bytes]:
        """A Secret's data, decoded (stringData, as the API server merges it, wins).
        A pod that needs a missing one would wait for it; here that fails."""
        secret = find(self.objects, "Secret", name)
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
        return data

    def apply_secret(self, secret: dict) -> None:
        """`kubectl apply` of a Secret: creates or replaces it, and the kubelet brings
        the volumes of running pods that mount it up to date (there within a minute or
        so; here at once)."""
        name = secret["metadata"]["name"]
        self.objects = [o for o in self.objects
                        if not (o["kind"] == "Secret" and o["metadata"]["name"] == name)]
        self.objects.append(secret)
        for pod in self.pods:
            pod.sync_secret(name)

    def claim(self, name: str) -> Path:
        find(self.objects, "PersistentVolumeClaim", name)
        path = self.volumes.setdefault(name, self.root / "pv" / name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pod(self, template: dict, name: str, annotations: Optional[Dict[str, str]] = None
            ) -> "Pod":
        pod = Pod(self, template, name, annotations or {})
        self.pods.append(pod)
        return pod


@dataclass
class Container:
    spec: dict
    argv: List[str]
    env: Dict[str, str]
    cwd: Path
    log: Path
    process: Optional[subprocess.Popen] = None
    restarts: int = 0

    @property
    def name(self) -> str:
        return self.spec["name"]

    def start(self) -> None:
        out = open(self.log, "ab")
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """To the container's whole process tree (its session), as a runtime would."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def port(self, port) -> int:
        """A probe's port: a number, or the name of one of the container's ports, which
        it must declare."""
        ports = {p.get("name"): p["containerPort"] for p in self.spec.get("ports", [])}
        number = ports[port] if isinstance(port, str) else port
        assert number in ports.values(), (
            f"{self.name}: probe port {port} is not among its ports {ports}")
        return number

    def probe(self, kind: str) -> Optional[bool]:
        """One try of the container's probe of this kind; None if it has none."""
        probe = self.spec.get(kind)
        if probe is None:
            return None
        if "grpc" in probe:
            return health_check(self.port(probe["grpc"]["port"]),
                                probe["grpc"].get("service", "")) == "SERVING"
        if "httpGet" in probe:
            get = probe["httpGet"]
            status = http_get(self.port(get["port"]), get["path"],
                              scheme=get.get("scheme", "HTTP"))
            return 200 <= status < 400
        if "tcpSocket" in probe:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port(probe["tcpSocket"]["port"]))) == 0
        raise AssertionError(f"{self.name}: unsupported probe {probe}")

    def wait_probe(self, kind: str) -> float:
        """Probes as the kubelet would (periodSeconds, failureThreshold) until one
        passes; returns the seconds it took. Fails past the manifest's own budget."""
        probe = self.spec[kind]
        period = probe.get("periodSeconds", 10)
        budget = probe.get("initialDelaySeconds", 0) + period * probe.get(
            "failureThreshold", 3)
        start = time.monotonic()
        while True:
            assert self.running(), f"{self.name} exited:\n{self.output()}"
            if self.probe(kind):
                return time.monotonic() - start
            assert time.monotonic() - start < budget, (
                f"{self.name}: {kind} did not pass within {budget} s:\n{self.output()}")
            time.sleep(min(period, 0.1))


class Pod:
    """One pod of a template: its volumes as directories and its containers as
    processes, not started yet."""

    def __init__(self, cluster: Cluster, template: dict, name: str,
                 annotations: Dict[str, str]):
        self.cluster = cluster
        self.name = name
        self.annotations = annotations
        self.spec = template["spec"]
        self.dir = cluster.root / "pods" / name
        self.dir.mkdir(parents=True)
        self.volumes: Dict[str, Path] = {}
        for volume in self.spec.get("volumes", []):
            self.volumes[volume["name"]] = self._volume(volume)
        self.init_containers = [self._container(c) for c in self.spec.get("initContainers", [])]
        self.containers = [self._container(c) for c in self.spec["containers"]]

    def _volume(self, volume: dict) -> Path:
        if "persistentVolumeClaim" in volume:
            return self.cluster.claim(volume["persistentVolumeClaim"]["claimName"])
        path = self.dir / "volumes" / volume["name"]
        path.mkdir(parents=True)
        if "emptyDir" in volume:
            return path
        if "configMap" in volume:
            data = self.cluster.config_map(volume["configMap"]["name"])["data"]
            for key, text in data.items():
                (path / key).write_text(text)
            return path
        if "secret" in volume:
            self._project_secret(volume["secret"], path)
            return path
        raise AssertionError(f"unsupported volume {volume}")

    def _project_secret(self, source: dict, path: Path) -> None:
        """A secret volume's files: every key, or just `items` (key -> path)."""
        data = self.cluster.secret(source["secretName"])
        mode = source.get("defaultMode", 0o644)
        files: Dict[str, Tuple[bytes, int]] = {}
        for item in source.get("items") or [{"key": k, "path": k} for k in data]:
            assert item["key"] in data or source.get("optional"), (
                f"Secret {source['secretName']} has no key {item['key']}")
            if item["key"] in data:
                files[item["path"]] = (data[item["key"]], item.get("mode", mode))
        project(path, files)

    def sync_secret(self, name: str) -> None:
        """The kubelet's periodic sync of the pod's volumes of Secret `name`."""
        for volume in self.spec.get("volumes", []):
            if volume.get("secret", {}).get("secretName") == name:
                self._project_secret(volume["secret"], self.volumes[volume["name"]])

    def _mounts(self, spec: dict) -> List[tuple]:
        for m in spec.get("volumeMounts", []):
            assert "subPath" not in m, f"unsupported subPath mount {m}"
        mounts = [(m["mountPath"].rstrip("/"), self.volumes[m["name"]])
                  for m in spec.get("volumeMounts", [])]
        return sorted(mounts, key=lambda m: -len(m[0]))  # the deepest mount wins

    def _field(self, path: str) -> str:
        if path == "metadata.name":
            return self.name
        if path == "metadata.namespace":
            return "hpo"
        if path in ("status.podIP", "status.hostIP"):
            return "127.0.0.1"
        m = re.fullmatch(r"metadata\.annotations\['(.+)'\]", path)
        if m:
            return self.annotations.get(m.group(1), "")
        raise AssertionError(f"unsupported fieldRef {path}")

    def _container(self, spec: dict) -> Container:
        mounts = self._mounts(spec)

        by_path = dict(mounts)
        # One pass, so a directory put in for one mount is never matched by another;
        # a mount path counts only where a path starts (after =, a space, a quote).
        pattern = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(m) for m, _ in mounts) +
                             r")(?=/|$|[\s\"'])") if mounts else None

        def local_path(text: str) -> str:
            if pattern is None:
                return text
            return pattern.sub(lambda m: str(by_path[m.group(1)]), text)

        env: Dict[str, str] = {}
        for source in spec.get("envFrom", []):
            data = self.cluster.config_map(source["configMapRef"]["name"])["data"]
            env.update({source.get("prefix", "") + k: v for k, v in data.items()})
        for var in spec.get("env", []):
            if "value" in var:
                env[var["name"]] = expand(var["value"], env)
            elif "fieldRef" in var.get("valueFrom", {}):
                env[var["name"]] = self._field(var["valueFrom"]["fieldRef"]["fieldPath"])
            elif "configMapKeyRef" in var.get("valueFrom", {}):
                ref = var["valueFrom"]["configMapKeyRef"]
                env[var["name"]] = self.cluster.config_map(ref["name"])["data"][ref["key"]]
            elif "secretKeyRef" in var.get("valueFrom", {}):
                # Read once, when the container starts, as the kubelet does.
                ref = var["valueFrom"]["secretKeyRef"]
                env[var["name"]] = self.cluster.secret(ref["name"])[ref["key"]].decode()
            else:
                raise AssertionError(f"unsupported env {var}")

        image = self.cluster.image
        assert spec["image"].split(":")[0] == "localhost/hpo", spec["image"]
        if "command" in spec:
            argv = spec["command"] + spec.get("args", [])
        else:
            argv = image.entrypoint + spec.get("args", image.cmd)
        argv = [local_path(expand(a, env)) for a in argv]
        argv[0] = image.local(spec.get("command", image.entrypoint)[0])
        # The files a ConfigMap mounts may name paths inside the container too.
        for mount in spec.get("volumeMounts", []):
            volume = next(v for v in self.spec["volumes"] if v["name"] == mount["name"])
            if "configMap" in volume:
                for file in self.volumes[mount["name"]].iterdir():
                    file.write_text(local_path(file.read_text()))
        process_env = {"PATH": os.environ["PATH"], "HOME": str(self.dir),
                       "TMPDIR": local_path("/tmp")}
        process_env.update({k: local_path(v) for k, v in env.items()})
        cwd = Path(local_path(spec["workingDir"])) if "workingDir" in spec else self.dir
        return Container(spec, argv, process_env, cwd, self.dir / f"{spec['name']}.log")

    def container(self, name: str) -> Container:
        return next(c for c in self.init_containers + self.containers if c.name == name)

    def start(self) -> None:
        """Init containers in order: a sidecar (restartPolicy Always) until its
        startupProbe passes, any other to completion; then the containers."""
        for c in self.init_containers:
            c.start()
            if c.spec.get("restartPolicy") == "Always":
                if "startupProbe" in c.spec:
                    c.wait_probe("startupProbe")
            else:
                assert c.wait(120) == 0, f"init container {c.name} failed:\n{c.output()}"
        for c in self.containers:
            c.start()

    def kill(self) -> None:
        for c in self.containers + self.init_containers:
            c.kill()
        for c in self.containers + self.init_containers:
            if c.process is not None:
                c.wait(10)

    def supervise(self, until: Callable[[], bool], timeout: float,
                  during: Optional[Callable[[], None]] = None) -> None:
        """The kubelet's loop: restarts a sidecar that exits (restartPolicy Always) and a
        container that fails under restartPolicy OnFailure, calls `during` on each turn,
        until `until()` or the timeout."""
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, f"pod {self.name}: timed out\n" + "\n".join(
                f"--- {c.name}:\n{c.output()[-3000:]}" for c in self.init_containers +
                self.containers)
            for c in self.init_containers:
                if c.spec.get("restartPolicy") == "Always" and not c.running():
                    c.restarts += 1
                    c.start()
            if self.spec.get("restartPolicy") == "OnFailure":
                for c in self.containers:
                    if not c.running() and c.process.returncode != 0:
                        c.restarts += 1
                        c.start()
            if during is not None:
                during()
            time.sleep(0.1)

    def finish_sidecars(self) -> Dict[str, Optional[int]]:
        """After the containers exit: SIGTERM to the sidecars, in reverse order, each
        given the pod's terminationGracePeriodSeconds. Returns their exit codes."""
        grace = self.spec.get("terminationGracePeriodSeconds", 30)
        codes = {}
        for c in reversed(self.init_containers):
            if c.running():
                c.kill(signal.SIGTERM)
                codes[c.name] = c.wait(grace)
        return codes


def pod_name(owner: str, index: Optional[int] = None) -> str:
    """A name like the controllers give: job-INDEX-xxxxx or deployment-xxxxxxxxxx-xxxxx."""
    suffix = secrets.token_hex(3)[:5]
    return f"{owner}-{index}-{suffix}" if index is not None else f"{owner}-{suffix}"


def binaries() -> Dict[str, str]:
    """The image's files, from the local build."""
    server = os.environ.get("HPO_SERVER_BIN", str(REPO / "bazel-bin/server/hpo-server"))
    hpoctl = os.environ.get("HPOCTL_BIN", str(REPO / "bazel-bin/cli/hpoctl"))
    for path in (server, hpoctl):
        assert os.access(path, os.X_OK), f"{path}: build it first (bazel build //...)"
    return {"/usr/local/bin/hpo-server": server, "/usr/local/bin/hpoctl": hpoctl}
