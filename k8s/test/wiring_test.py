"""The manifests' wiring, run: each pattern's pods from `kustomize build` of its overlay,
run as local processes by pods.py (ports, flags, paths, probes and env exactly as the
manifests give them; only the image is mapped to the local build). Run by k8s/test.sh
inside a network namespace of its own, where each Service name resolves to 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

import pytest

from pods import Cluster, Image, Pod, binaries, find, health_check, http_get, pod_name


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


def start_service(cluster: Cluster, pods: List[Pod]) -> Pod:
    """Pattern 1's Deployment as one pod, started and ready."""
    objects = cluster.apply("k8s/overlays/service")
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
