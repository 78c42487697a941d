"""The package builds into a wheel holding the generated stubs, and works from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import PYTHON_DIR


def test_wheel_holds_the_stubs_and_imports_from_an_install(tmp_path: Path, address: str):
    src = tmp_path / "src"
    shutil.copytree(
        PYTHON_DIR,
        src,
        ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__", ".*"),
    )
    # Offline: the build backend is the installed setuptools, no dependency is fetched.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(tmp_path / "dist"), str(src)],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("hpo_client-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("hpo_client/__init__.py", "hpo_client/ray.py", "hpo_client/optuna.py",
              "hpo_client/py.typed", "hpo_client/v1/hpo_pb2.py", "hpo_client/v1/hpo_pb2.pyi",
              "hpo_client/v1/hpo_pb2_grpc.py"):
        assert f in names
    metadata = zipfile.ZipFile(wheel).read("hpo_client-0.1.0.dist-info/METADATA").decode()
    assert "Name: hpo-client" in metadata
    assert "Requires-Dist: grpcio" in metadata

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--target", str(target), str(wheel)],
        check=True,
    )
    code = (
        "import sys, hpo_client\n"
        f"assert hpo_client.__file__.startswith({str(target)!r}), hpo_client.__file__\n"
        f"c = hpo_client.Client({address!r})\n"
        "try:\n"
        "    c.experiment('not-there')\n"
        "except hpo_client.NotFoundError as e:\n"
        "    print('ok', e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok name: experiment \"not-there\" does not exist")


def test_generated_stub_is_usable_directly(address: str):
    import grpc
    from google.api import annotations_pb2
    from hpo_client.v1 import hpo_pb2, hpo_pb2_grpc

    method = hpo_pb2.DESCRIPTOR.services_by_name["HpoService"].methods_by_name["GetBest"]
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    assert rule.get == "/v1/experiments/{experiment}/best"
    with grpc.insecure_channel(address) as channel:
        stub = hpo_pb2_grpc.HpoServiceStub(channel)
        page = stub.ListExperiments(hpo_pb2.ListExperimentsRequest(page_size=1))
        assert isinstance(page, hpo_pb2.ListExperimentsResponse)
