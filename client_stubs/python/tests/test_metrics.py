"""GET /metrics: valid Prometheus text (promtool check metrics), scraped by a real
Prometheus server on loopback, whose counter equals the calls the test made."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import hpo_client
from hpo_client import uniform


def http_port(server) -> int:
    found = re.findall(r"HTTP listening on [^ ]+:(\d+)", server.log.read_text())
    assert found, server.log.read_text()
    return int(found[-1])


def scrape(port: int) -> tuple:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.headers["Content-Type"], r.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample with exactly these labels (in any order)."""
    for line in text.splitlines():
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if got == labels:
            return float(m.group(4))
    raise AssertionError(f"no sample {name}{labels}")


def run_trials(server, name: str, n: int) -> None:
    with hpo_client.Client(server.address) as client:
        exp = client.create_experiment(name, space={"x": uniform(0, 1)}, objective="loss",
                                       max_trials=n, algorithm="random")
        for _ in range(n):
            trial = exp.suggest(worker_id="metrics-test")
            trial.report(loss=trial.params["x"])


def test_metrics_count_calls_and_pass_promtool(fresh_server):
    port = http_port(fresh_server)
    run_trials(fresh_server, "counted", 7)
    with pytest.raises(hpo_client.NotFoundError):
        with hpo_client.Client(fresh_server.address) as client:
            client.experiment("no-such-experiment")

    content_type, text = scrape(port)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert sample(text, "hpo_rpc_requests_total", method="GetTrialConfig", code="OK") == 7
    assert sample(text, "hpo_rpc_requests_total", method="ReportResult", code="OK") == 7
    assert sample(text, "hpo_rpc_requests_total", method="CreateExperiment", code="OK") == 1
    assert sample(text, "hpo_rpc_requests_total", method="GetExperiment",
                  code="NOT_FOUND") == 1
    assert sample(text, "hpo_rpc_duration_seconds_count", method="ReportResult") == 7
    assert sample(text, "hpo_rpc_duration_seconds_bucket", method="ReportResult",
                  le="+Inf") == 7
    assert sample(text, "hpo_experiments", state="COMPLETED") == 1
    assert sample(text, "hpo_trials", state="COMPLETED", algorithm="random") == 7
    # Each acknowledged write is in a commit: at least one per create and report.
    assert sample(text, "hpo_storage_commit_writes_sum") >= 8
    assert sample(text, "hpo_storage_commit_seconds_count") >= 1
    assert sample(text, "process_resident_memory_bytes") > 1e6
    assert sample(text, "process_open_fds") > 0

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: scripts/install-deps.sh installs Debian's prometheus")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_sampler_time_early_stopping_and_expired_leases(fresh_server):
    port = http_port(fresh_server)
    _, text = scrape(port)
    # Present at zero before any suggestion, for every algorithm and rule.
    assert sample(text, "hpo_sampler_seconds_count", algorithm="tpe") == 0
    assert sample(text, "hpo_early_stopping_decisions_total", rule="median",
                  outcome="stop") == 0
    assert sample(text, "hpo_leases_expired_total") == 0

    run_trials(fresh_server, "sampled-random", 6)
    with hpo_client.Client(fresh_server.address) as client:
        exp = client.create_experiment("sampled-tpe", space={"x": uniform(0, 1)},
                                       objective="loss", goal="minimize", algorithm="tpe")
        for _ in range(4):
            trial = exp.suggest(worker_id="metrics-test")
            trial.report(loss=trial.params["x"])

        # The threshold rule stops a trial whose loss leaves [-inf, 1].
        exp = client.create_experiment(
            "early-stopped", space={"x": uniform(0, 1)}, objective="loss", goal="minimize",
            algorithm="random", early_stopping="threshold",
            early_stopping_settings={"upper": 1})
        trial = exp.suggest(worker_id="a")
        assert not trial.report_intermediate(1, loss=0.5)
        assert trial.report_intermediate(2, loss=5.0)
        trial.prune()
        trial = exp.suggest(worker_id="b")
        assert not trial.report_intermediate(1, loss=0.25)
        trial.report(loss=0.25)

        # A lease that runs out: the next request on the experiment (or the
        # server's tick) hands the trial back.
        exp = client.create_experiment("expired", space={"x": uniform(0, 1)},
                                       objective="loss", algorithm="random", trial_lease=0.2)
        exp.suggest(worker_id="gone")
        time.sleep(0.4)
        assert exp.refresh().status.waiting == 1

    _, text = scrape(port)
    # 6 of sampled-random, 2 of early-stopped and 1 of expired: all random search.
    assert sample(text, "hpo_sampler_seconds_count", algorithm="random") == 9
    assert sample(text, "hpo_sampler_seconds_bucket", algorithm="random", le="+Inf") == 9
    assert sample(text, "hpo_sampler_seconds_count", algorithm="tpe") == 4
    assert sample(text, "hpo_sampler_seconds_sum", algorithm="tpe") > 0
    assert sample(text, "hpo_early_stopping_decisions_total", rule="threshold",
                  outcome="continue") == 2
    assert sample(text, "hpo_early_stopping_decisions_total", rule="threshold",
                  outcome="stop") == 1
    assert sample(text, "hpo_leases_expired_total") == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_prometheus_scrapes_the_counter(fresh_server, tmp_path: Path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus not found: scripts/install-deps.sh installs Debian's prometheus")
    port = http_port(fresh_server)
    run_trials(fresh_server, "scraped", 5)

    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: hpo\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    web = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{web}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        query = urllib.parse.urlencode(
            {"query": 'hpo_rpc_requests_total{method="GetTrialConfig",code="OK"}'})
        deadline = time.monotonic() + 60
        value = None
        while time.monotonic() < deadline and value is None:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{web}/api/v1/query?{query}", timeout=5) as r:
                    result = json.loads(r.read())["data"]["result"]
            except OSError:
                continue
            if result:
                value = float(result[0]["value"][1])
                assert result[0]["metric"]["job"] == "hpo"
        assert value == 5, (tmp_path / "prometheus.log").read_text()[-3000:]
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/api/v1/targets", timeout=5) as r:
            targets = json.loads(r.read())["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"], targets
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
