"""The manifests' wiring, run: each pattern's pods from `kustomize build` of its overlay,
run as local processes by pods.py (ports, flags, paths, probes and env exactly as the
manifests give them; only the image is mapped to the local build). Run by k8s/test.sh
inside a network namespace of its own, where each Service name resolves to 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shlex
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import grpc
import pytest
import yaml

from pods import (REPO, Cluster, Image, Pod, binaries, find, health_check, http_get,
                  pod_name)


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    c = Cluster(tmp_path, Image.from_containerfile(binaries()))
    yield c


@pytest.fixture
def pods() -> List[Pod]:
    started: List[Pod] = []
    yield started
    for p in started:
        p.kill()


def rest(port: int, path: str, method: str = "GET", body=None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def trials(port: int, experiment: str) -> List[dict]:
    return rest(port, f"/v1/experiments/{experiment}/trials?pageSize=1000").get("trials", [])


def acknowledged(output: str) -> Dict[int, float]:
    """The trials hpoctl says the server took as COMPLETED, with their loss."""
    done = {}
    for m in re.finditer(r"trial (\d+): COMPLETED loss=([-\d.e+]+)(;.*)?$", output, re.M):
        if m.group(3) is None:
            done[int(m.group(1))] = float(m.group(2))
    return done


def spec_of(cluster: Cluster, config_map: str) -> dict:
    import yaml
    data = cluster.config_map(config_map)["data"]
    return yaml.safe_load(data["experiment.yaml"])


def http_port(container) -> int:
    return container.port("http")


def shutdown_grace(container) -> int:
    """The server's --shutdown_grace_seconds, from its args or the flag file they name."""
    args = list(container.argv[1:])
    for a in container.argv[1:]:
        if a.startswith("--flagfile="):
            args += Path(a.split("=", 1)[1]).read_text().split()
    found = [int(a.split("=", 1)[1]) for a in args if a.startswith("--shutdown_grace_seconds=")]
    return found[-1] if found else 5  # the server's default


def start_service(cluster: Cluster, pods: List[Pod], overlay: str = "k8s/overlays/service",
                  secrets_dir: Optional[Path] = None) -> Pod:
    """Pattern 1's Deployment as one pod, started and ready; with `secrets_dir`, the
    Secrets are made there first (make_secrets)."""
    objects = cluster.apply(overlay)
    if secrets_dir is not None:
        make_secrets(cluster, secrets_dir)
    deployment = find(objects, "Deployment", "hpo")
    pod = cluster.pod(deployment["spec"]["template"], pod_name("hpo-6d4cf56db6"))
    pods.append(pod)
    pod.start()
    server = pod.container("hpo-server")
    server.wait_probe("startupProbe")
    server.wait_probe("readinessProbe")
    server.wait_probe("livenessProbe")
    return pod


def test_service_ports_probes_and_drain(cluster: Cluster, pods: List[Pod]) -> None:
    pod = start_service(cluster, pods)
    server = pod.container("hpo-server")
    objects = cluster.objects

    # The Service's targetPorts are the container's named ports, and both answer.
    service = find(objects, "Service", "hpo")
    named = {p["name"]: p["containerPort"] for p in server.spec["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in named, port
        assert named[port["targetPort"]] == port["port"], port
    assert health_check(named["grpc"]) == "SERVING"
    assert health_check(named["grpc"], "hpo.v1.HpoService") == "SERVING"
    assert http_get(named["http"], "/healthz") == 200
    assert http_get(named["http"], "/readyz") == 200

    # Prometheus finds /metrics where the pod's annotations say.
    annotations = find(objects, "Deployment", "hpo")["spec"]["template"]["metadata"][
        "annotations"]
    assert http_get(int(annotations["prometheus.io/port"]),
                    annotations["prometheus.io/path"]) == 200

    # The database is where the data volume is mounted, not on the read-only root.
    data = cluster.volumes["hpo-data"]
    assert (data / "hpo.db").exists(), list(data.iterdir())

    # A worker elsewhere in the cluster reaches it by the Service's name.
    run = pod.dir / "client"
    run.mkdir()
    import subprocess
    hpoctl = cluster.image.local("/usr/local/bin/hpoctl")
    out = subprocess.run(
        [hpoctl, "--server", f"hpo:{service['spec']['ports'][0]['port']}", "run",
         "--name", "by-service", "--param", "x=double:0:1", "--objective", "loss:minimize",
         "--max-trials", "3", "--command", "echo loss=${x}", "--log-dir", str(run)],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(trials(named["http"], "by-service")) == 3

    # SIGTERM (a rollout, a drained node): the server's drain fits in the pod's grace
    # period, it exits 0 within it, and the database is whole.
    grace = pod.spec["terminationGracePeriodSeconds"]
    assert shutdown_grace(server) < grace
    started = time.monotonic()
    server.kill(signal.SIGTERM)
    assert server.wait(grace) == 0, server.output()
    assert time.monotonic() - started < grace
    db = sqlite3.connect(data / "hpo.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    # The Deployment's next pod (Recreate: after this one is gone) has it all.
    again = cluster.pod({"spec": pod.spec}, pod_name("hpo-6d4cf56db6"))
    pods.append(again)
    again.start()
    again.container("hpo-server").wait_probe("startupProbe")
    done = trials(named["http"], "by-service")
    assert [t["state"] for t in done] == ["COMPLETED"] * 3


def test_sidecar_resumes_after_kills_and_completes(cluster: Cluster, pods: List[Pod]) -> None:
    objects = cluster.apply("k8s/overlays/sidecar")
    job = find(objects, "Job", "hpo-tune")
    template = job["spec"]["template"]
    spec = spec_of(cluster, template["spec"]["volumes"][1]["configMap"]["name"])
    name, max_trials = spec["name"], spec["maxTrials"]

    pod = cluster.pod(template, pod_name("hpo-tune"))
    pods.append(pod)
    pod.start()  # the trainer starts once the sidecar's startupProbe passes
    sidecar, trainer = pod.container("hpo-server"), pod.container("trainer")
    port = http_port(sidecar)
    seen_ack: Dict[int, float] = {}

    def completed() -> int:
        try:
            return sum(t["state"] == "COMPLETED" for t in trials(port, name))
        except OSError:
            return 0

    # 1. The sidecar dies (SIGKILL) with trials running; the kubelet restarts it.
    pod.supervise(lambda: completed() >= 3, timeout=120)
    seen_ack.update(acknowledged(trainer.output()))
    sidecar.kill()
    sidecar.wait(10)
    pod.supervise(lambda: sidecar.restarts >= 1 and completed() >= 6, timeout=120)
    assert sidecar.restarts == 1
    for number, loss in seen_ack.items():  # nothing acknowledged was lost
        assert any(t["number"] == number and t["state"] == "COMPLETED" and
                   t["metrics"]["loss"] == pytest.approx(loss, rel=1e-5)
                   for t in trials(port, name)), (number, trials(port, name))

    # 2. The whole pod dies (a node lost); the Job's next pod mounts the same claim
    #    and resumes the experiment instead of starting over.
    seen_ack.update(acknowledged(trainer.output()))
    before = completed()
    pod.kill()
    pod = cluster.pod(template, pod_name("hpo-tune"))
    pods.append(pod)
    pod.start()
    sidecar, trainer = pod.container("hpo-server"), pod.container("trainer")
    assert completed() >= before
    pod.supervise(lambda: not trainer.running() and trainer.process.returncode == 0,
                  timeout=240)
    assert "resuming experiment " + name in trainer.output(), trainer.output()
    seen_ack.update(acknowledged(trainer.output()))

    # The trainer is done: the kubelet stops the sidecar, which exits cleanly.
    assert shutdown_grace(sidecar) < pod.spec["terminationGracePeriodSeconds"]
    codes = pod.finish_sidecars()
    assert codes == {"hpo-server": 0}, sidecar.output()

    # Read the database the way the next pod would: everything is there.
    again = cluster.pod(template, pod_name("hpo-tune"))
    pods.append(again)
    again.init_containers[0].start()
    again.init_containers[0].wait_probe("startupProbe")
    final = trials(port, name)
    assert rest(port, f"/v1/experiments/{name}")["state"] == "COMPLETED"
    assert sorted(t["number"] for t in final) == list(range(max_trials))
    assert all(t["state"] == "COMPLETED" for t in final), final
    for number, loss in seen_ack.items():
        assert final[number]["metrics"]["loss"] == pytest.approx(loss, rel=1e-5)


def test_indexed_workers_reclaim_a_killed_pods_trial(cluster: Cluster,
                                                     pods: List[Pod]) -> None:
    service = start_service(cluster, pods)
    port = http_port(service.container("hpo-server"))
    objects = cluster.apply("k8s/overlays/workers")
    job = find(objects, "Job", "hpo-workers")
    template = job["spec"]["template"]
    spec = spec_of(cluster, template["spec"]["volumes"][0]["configMap"]["name"])
    name, max_trials = spec["name"], spec["maxTrials"]
    assert job["spec"]["parallelism"] == spec["parallelTrials"]
    assert job["spec"]["completionMode"] == "Indexed"

    def worker(index: int) -> Pod:
        p = cluster.pod(template, pod_name("hpo-workers", index),
                        {"batch.kubernetes.io/job-completion-index": str(index)})
        pods.append(p)
        p.start()
        return p

    workers = {i: worker(i) for i in range(job["spec"]["parallelism"])}

    # Preempt index 1 while it runs a trial: SIGKILL to its whole pod.
    victim = workers[1]

    def victim_trial() -> List[dict]:
        try:
            return [t for t in trials(port, name) if t["state"] == "RUNNING" and
                    t.get("workerId", "").startswith(victim.name)]
        except OSError:
            return []

    deadline = time.monotonic() + 60
    while not victim_trial():
        assert time.monotonic() < deadline, victim.containers[0].output()
        time.sleep(0.05)
    lost, lost_parameters = victim_trial()[0]["number"], victim_trial()[0]["parameters"]
    victim.kill()
    # The Job controller replaces it (podFailurePolicy: a disruption is ignored).
    workers[1] = worker(1)

    # Every index completes once the experiment is over.
    deadline = time.monotonic() + 240
    for index, p in workers.items():
        code = p.containers[0].wait(max(1, deadline - time.monotonic()))
        assert code == 0, f"worker {index}: {code}\n{p.containers[0].output()}"

    final = trials(port, name)
    assert rest(port, f"/v1/experiments/{name}")["state"] == "COMPLETED"
    assert sorted(t["number"] for t in final) == list(range(max_trials))
    assert all(t["state"] == "COMPLETED" for t in final), final
    # The killed pod's trial went back after its lease and another pod ran it.
    reclaimed = final[lost]
    assert not reclaimed["workerId"].startswith(victim.name), reclaimed
    assert reclaimed["parameters"] == lost_parameters
    # The worker ids are the pods' names (downward API).
    owners = {re.sub(r"-\d+$", "", t["workerId"]) for t in final}
    assert owners <= {p.name for p in pods}, owners


# The secure variant: k8s/overlays/secure (TLS, tokens) and secure-workers.

SECURE = REPO / "k8s/overlays/secure"


def make_secrets(cluster: Cluster, directory: Path) -> None:
    """What k8s/README.md's "Secure setup" tells a user to do: run make-secrets.sh (a CA,
    a server certificate for the Service's names, tokens) and the kubectl commands it
    prints, which create the Secrets or update them in place. Running it again renews
    the certificate (same CA) and puts tokens.csv and worker.token, edited or not, back
    into the Secrets."""
    service = find(cluster.objects, "Service", "hpo")["metadata"]
    out = subprocess.run([str(SECURE / "make-secrets.sh"), str(directory), service["name"],
                          service["namespace"]], capture_output=True, text=True, check=True)
    for secret in kubectl_create_secrets(out.stdout):
        cluster.apply_secret(secret)


def kubectl_create_secrets(commands: str) -> List[dict]:
    """The Secrets that `kubectl -n NS create secret generic NAME [--type=TYPE]
    --from-file=[KEY=]PATH... --dry-run=client -o yaml | kubectl apply -f -` lines apply."""
    made = []
    for line in commands.replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        words = words[:words.index("|")]
        assert words[:2] == ["kubectl", "-n"], line
        assert words[3:6] == ["create", "secret", "generic"], line
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": {},
                  "metadata": {"name": words[6], "namespace": words[2]}}
        for word in words[7:]:
            if word.startswith("--type="):
                secret["type"] = word.split("=", 1)[1]
            elif word.startswith("--from-file="):
                source = word.split("=", 1)[1]
                key, path = source.split("=", 1) if "=" in source else (
                    Path(source).name, source)
                secret["data"][key] = base64.b64encode(Path(path).read_bytes()).decode()
            else:
                assert word in ("--dry-run=client", "-o", "yaml"), line
        made.append(secret)
    return made


def tokens(directory: Path) -> Dict[str, str]:
    """The tokens of make-secrets.sh's tokens.csv, by role."""
    lines = (directory / "tokens.csv").read_text().splitlines()
    rows = [l.split(",") for l in lines if l.strip() and not l.startswith("#")]
    return {role: token for token, _, role in rows}


def names(service: dict) -> List[str]:
    """The names a Service has in the cluster's DNS."""
    n, ns = service["metadata"]["name"], service["metadata"]["namespace"]
    return [n, f"{n}.{ns}", f"{n}.{ns}.svc", f"{n}.{ns}.svc.cluster.local"]


def https(url: str, ca: Path, token: Optional[str] = None) -> int:
    """An HTTPS GET that verifies the server's certificate (name and CA), as a client
    would; the status."""
    context = ssl.create_default_context(cafile=str(ca))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=5, context=context) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def grpc_call(target: str, ca: Path, token: Optional[str],
              method: str = "/hpo.v1.HpoService/ListExperiments") -> str:
    """A gRPC call over TLS (verifying the server against ca), with the token if any;
    its status code's name."""
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.read_bytes())
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.secure_channel(target, credentials) as channel:
        try:
            channel.unary_unary(method)(b"", metadata=metadata, timeout=5)
        except grpc.RpcError as e:
            return e.code().name
    return "OK"


def served_certificate(port: int, alpn: Optional[str] = None) -> bytes:
    """The certificate a TLS port presents (DER), unverified."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols([alpn])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)


def hpoctl(cluster: Cluster, env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cluster.image.local("/usr/local/bin/hpoctl"), *args],
                          env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, timeout=60)


def test_secure_examples_match_the_manifests(cluster: Cluster, tmp_path: Path) -> None:
    """The Secrets the overlays mount are the ones secrets.example.yaml shows (with
    placeholders only) and make-secrets.sh's commands make; cert-manager's Certificate
    makes that Secret for the same names."""
    objects = cluster.apply("k8s/overlays/secure") + cluster.apply(
        "k8s/overlays/secure-workers")
    referenced = {}
    for kind, name in (("Deployment", "hpo"), ("Job", "hpo-workers")):
        spec = find(objects, kind, name)["spec"]["template"]["spec"]
        for volume in spec["volumes"]:
            if "secret" in volume:
                items = volume["secret"].get("items")
                referenced.setdefault(volume["secret"]["secretName"], set()).update(
                    [i["key"] for i in items] if items else [])
        for c in spec["containers"]:
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.setdefault(ref["name"], set()).add(ref["key"])
            for m in c.get("volumeMounts", []):
                assert "subPath" not in m, f"{m}: the kubelet never updates a subPath mount"

    examples = {d["metadata"]["name"]: d for d in yaml.safe_load_all(
        (SECURE / "secrets.example.yaml").read_text()) if d}
    secrets_dir = tmp_path / "secrets"
    service = find(objects, "Service", "hpo")
    out = subprocess.run([str(SECURE / "make-secrets.sh"), str(secrets_dir)],
                         capture_output=True, text=True, check=True).stdout
    made = {s["metadata"]["name"]: s for s in kubectl_create_secrets(out)}
    assert set(examples) == set(made) == set(referenced), (examples, made, referenced)
    for name, example in examples.items():
        assert example["metadata"]["namespace"] == service["metadata"]["namespace"]
        assert example.get("type", "Opaque") == made[name]["type"], name
        assert set(example["stringData"]) == set(made[name]["data"]), name
        assert referenced[name] <= set(example["stringData"]), name
        for key, value in example["stringData"].items():  # nothing real is committed
            assert "REPLACE-ME" in value, (name, key)
    assert {"tls.crt", "tls.key"} <= set(examples["hpo-tls"]["stringData"])
    assert examples["hpo-tls"]["type"] == "kubernetes.io/tls"

    # make-secrets.sh's certificate and cert-manager's carry the same names: the Service's
    # and localhost, 127.0.0.1 (port-forward).
    san = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                          str(secrets_dir / "tls.crt")], capture_output=True, text=True,
                         check=True).stdout
    dns = set(re.findall(r"DNS:([^,\s]+)", san))
    ips = set(re.findall(r"IP Address:([^,\s]+)", san))
    certificate = [d for d in yaml.safe_load_all(
        (SECURE / "certificate.example.yaml").read_text()) if d and
        d["kind"] == "Certificate" and not d["spec"].get("isCA")]
    assert len(certificate) == 1
    certificate = certificate[0]["spec"]
    assert certificate["secretName"] == "hpo-tls"
    assert dns == set(certificate["dnsNames"]) == set(names(service)) | {"localhost"}
    assert ips == set(certificate["ipAddresses"]) == {"127.0.0.1"}
    subprocess.run(["openssl", "verify", "-CAfile", str(secrets_dir / "ca.crt"),
                    str(secrets_dir / "tls.crt")], check=True, capture_output=True)


def test_secure_service_tls_tokens_and_rotation(cluster: Cluster, pods: List[Pod],
                                                tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    pod = start_service(cluster, pods, "k8s/overlays/secure", secrets_dir)  # probes pass
    server = pod.container("hpo-server")
    pid = server.process.pid
    ca = secrets_dir / "ca.crt"
    token = tokens(secrets_dir)
    service = find(cluster.objects, "Service", "hpo")
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    grpc_port, http = server.port("grpc"), server.port("http")
    assert ports == {"grpc": grpc_port, "http": http}

    # Why the probes are HTTPS GETs: the kubelet's gRPC probe (plaintext) fails on TLS,
    # and plain HTTP gets no answer; the HTTPS ones pass without a token.
    assert health_check(grpc_port) != "SERVING"
    assert http_get(http, "/readyz") == 0
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server.spec[kind]["httpGet"]["scheme"] == "HTTPS", kind
        assert server.probe(kind), kind

    # A client in the cluster verifies the certificate by every name of the Service,
    # and through port-forward by localhost.
    for name in names(service) + ["localhost"]:
        assert https(f"https://{name}:{http}/readyz", ca) == 200, name

    # The API needs a token: REST 401 without one, gRPC UNAUTHENTICATED; the worker
    # token is let in over TLS (Python's gRPC, and hpoctl as the README tells clients).
    assert https(f"https://hpo:{http}/v1/experiments", ca) == 401
    assert https(f"https://hpo:{http}/v1/experiments", ca, token["read"]) == 200
    assert grpc_call(f"hpo:{grpc_port}", ca, None) == "UNAUTHENTICATED"
    assert grpc_call(f"hpo:{grpc_port}", ca, token["worker"]) == "OK"
    env = {"HPO_SERVER": f"hpo:{grpc_port}", "HPO_TLS_CA": str(ca)}
    out = hpoctl(cluster, {**env, "HPO_TOKEN": token["worker"]}, "list")
    assert out.returncode == 0, out.stdout + out.stderr
    out = hpoctl(cluster, env, "list")
    assert out.returncode != 0 and "bearer token" in out.stderr, out.stdout + out.stderr

    # Prometheus, where the pod's annotations say: HTTPS, and a read token for /metrics.
    annotations = find(cluster.objects, "Deployment", "hpo")["spec"]["template"]["metadata"][
        "annotations"]
    assert annotations["prometheus.io/scheme"] == "https"
    metrics = (f"https://hpo:{annotations['prometheus.io/port']}"
               f"{annotations['prometheus.io/path']}")
    assert https(metrics, ca) == 401
    assert https(metrics, ca, token["read"]) == 200

    # Rotation, no restart: a new worker token replaces the old one in tokens.csv and a
    # new certificate (same CA) is made; make-secrets.sh's commands update both Secrets,
    # the kubelet the mounted files, and the server re-reads them.
    old_worker, old_certificate = token["worker"], served_certificate(http)
    new_worker = secrets.token_hex(32)
    csv = secrets_dir / "tokens.csv"
    csv.write_text(csv.read_text().replace(old_worker, new_worker))
    (secrets_dir / "worker.token").write_text(new_worker)
    make_secrets(cluster, secrets_dir)
    new_certificate = ssl.PEM_cert_to_DER_cert((secrets_dir / "tls.crt").read_text())
    assert new_certificate != old_certificate
    deadline = time.monotonic() + 15
    while not (served_certificate(http) == new_certificate and
               served_certificate(grpc_port, "h2") == new_certificate and
               grpc_call(f"hpo:{grpc_port}", ca, new_worker) == "OK" and
               grpc_call(f"hpo:{grpc_port}", ca, old_worker) == "UNAUTHENTICATED"):
        assert time.monotonic() < deadline, "the new Secrets did not take effect:\n" + (
            server.output()[-3000:])
        time.sleep(0.2)
    assert server.running() and server.process.pid == pid and server.restarts == 0
    assert https(f"https://hpo:{http}/readyz", ca) == 200


def test_secure_workers_join_with_a_worker_token(cluster: Cluster, pods: List[Pod],
                                                 tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    start_service(cluster, pods, "k8s/overlays/secure", secrets_dir)
    ca, token = secrets_dir / "ca.crt", tokens(secrets_dir)
    objects = cluster.apply("k8s/overlays/secure-workers")
    job = find(objects, "Job", "hpo-workers")
    template = job["spec"]["template"]
    experiment = next(v["configMap"]["name"] for v in template["spec"]["volumes"]
                      if "configMap" in v)
    spec = spec_of(cluster, experiment)
    name, max_trials = spec["name"], spec["maxTrials"]

    # A worker token may not create experiments: an admin creates it, as the README says.
    spec_file = tmp_path / "experiment.yaml"
    spec_file.write_text(cluster.config_map(experiment)["data"]["experiment.yaml"])
    out = hpoctl(cluster, {"HPO_SERVER": "hpo:50051", "HPO_TLS_CA": str(ca),
                           "HPO_TOKEN": token["admin"]}, "create", "-f", str(spec_file))
    assert out.returncode == 0, out.stdout + out.stderr

    workers = []
    for index in range(job["spec"]["parallelism"]):
        p = cluster.pod(template, pod_name("hpo-workers", index),
                        {"batch.kubernetes.io/job-completion-index": str(index)})
        pods.append(p)
        p.start()
        workers.append(p)
    for index, p in enumerate(workers):
        worker = p.containers[0]
        assert worker.env["HPO_TOKEN"] == token["worker"]  # from hpo-worker-token
        code = worker.wait(120)
        assert code == 0, f"worker {index}: {code}\n{worker.output()}"
        # It joined with the worker token, over TLS (no plaintext fallback in hpoctl).
        assert "this token may not create experiments" in worker.output(), worker.output()

    request = urllib.request.Request(
        f"https://hpo:8080/v1/experiments/{name}/trials?pageSize=1000",
        headers={"Authorization": f"Bearer {token['read']}"})
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(request, timeout=10, context=context) as r:
        final = json.loads(r.read()).get("trials", [])
    assert sorted(t["number"] for t in final) == list(range(max_trials))
    assert all(t["state"] == "COMPLETED" for t in final), final
    owners = {re.sub(r"-\d+$", "", t["workerId"]) for t in final}
    assert owners <= {p.name for p in workers}, owners


def test_katib_suggestion_pod_serves_katibs_api(cluster: Cluster, pods: List[Pod]) -> None:
    """k8s/katib: the pod Katib makes from katib-config.yaml's entries passes Katib's
    probes, and Katib's controller reaches GetSuggestions by the Service's name."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    objects = cluster.apply("k8s/katib")
    deployment = find(objects, "Deployment", "hpo-suggestion")
    pod = cluster.pod(deployment["spec"]["template"], pod_name("hpo-suggestion-5f7d8c9b4d"))
    pods.append(pod)
    pod.start()
    server = pod.container("suggestion")
    server.wait_probe("readinessProbe")
    server.wait_probe("livenessProbe")

    # Katib's messages from the descriptor the server is built from.
    files = descriptor_pb2.FileDescriptorSet.FromString(
        (REPO / "third_party/katib/api.pb").read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    message = lambda n: message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"api.v1.beta1.{n}"))
    request = message("GetSuggestionsRequest")(current_request_number=2, total_request_number=2)
    request.experiment.name = "iris"
    p = request.experiment.spec.parameter_specs.parameters.add(name="lr", parameter_type=1)
    p.feasible_space.min, p.feasible_space.max = "0.01", "0.1"
    request.experiment.spec.objective.type = 2  # MAXIMIZE
    request.experiment.spec.objective.objective_metric_name = "accuracy"
    request.experiment.spec.algorithm.algorithm_name = "tpe"

    service = find(objects, "Service", "hpo-suggestion")
    port = service["spec"]["ports"][0]["port"]
    namespace = service["metadata"]["namespace"]
    with grpc.insecure_channel(f"hpo-suggestion.{namespace}:{port}") as channel:
        call = channel.unary_unary(
            "/api.v1.beta1.Suggestion/GetSuggestions",
            request_serializer=request.SerializeToString,
            response_deserializer=message("GetSuggestionsReply").FromString)
        reply = call(request, timeout=30)
    assert len(reply.parameter_assignments) == 2
    for a in reply.parameter_assignments:
        assert 0.01 <= float(a.assignments[0].value) <= 0.1

    # Its database is on the data volume, not the read-only root.
    assert (pod.volumes["data"] / "hpo.db").exists(), list(pod.volumes["data"].iterdir())
    server.kill(signal.SIGTERM)
    assert server.wait(pod.spec.get("terminationGracePeriodSeconds", 30)) == 0, server.output()
