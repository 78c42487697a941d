#!/usr/bin/env python3
"""Writes Katib's manager API (package api.v1.beta1) as a descriptor set.

The source is the PyPI wheel of Katib's SDK at the version pinned in
client_stubs/python/requirements-katib.txt: its kubeflow/katib/katib_api_pb2.py holds
the compiled descriptor of Katib's pkg/apis/manager/v1beta1/api.proto. That one module
is loaded on its own (the package's __init__ imports the Kubernetes client), and its
FileDescriptorProto is written unchanged as a FileDescriptorSet to
third_party/katib/api.pb, which Bazel compiles with protoc --descriptor_set_in.

    third_party/katib/update.py            fetch the pinned wheel (pip download) and write
    third_party/katib/update.py --wheel W  from a wheel file at hand
    third_party/katib/update.py --check    exit 1 if api.pb differs from the wheel's
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PIN = ROOT / "client_stubs/python/requirements-katib.txt"
MODULE = "kubeflow/katib/katib_api_pb2.py"


def pinned_version() -> str:
    for line in PIN.read_text().splitlines():
        m = re.match(r"\s*kubeflow-katib==(\S+)", line)
        if m:
            return m.group(1)
    sys.exit(f"{PIN}: no kubeflow-katib==VERSION line")


def fetch_wheel(version: str, into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
         "--disable-pip-version-check", "-d", str(into), f"kubeflow-katib=={version}"],
        check=True,
    )
    wheels = sorted(into.glob("kubeflow_katib-*.whl"))
    if not wheels:
        sys.exit(f"pip download left no kubeflow_katib wheel in {into}")
    return wheels[0]


def descriptor_set(wheel: Path, work: Path) -> bytes:
    """The wheel's api.proto as a serialized FileDescriptorSet."""
    from google.protobuf import descriptor_pb2

    with zipfile.ZipFile(wheel) as z:
        source = z.read(MODULE)
    module_path = work / "katib_api_pb2.py"
    module_path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("katib_api_pb2", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files = descriptor_pb2.FileDescriptorSet()
    module.DESCRIPTOR.CopyToProto(files.file.add())
    return files.SerializeToString(deterministic=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a kubeflow_katib wheel file")
    parser.add_argument("--check", action="store_true",
                        help="compare with the checked-in api.pb instead of writing it")
    args = parser.parse_args()
    version = pinned_version()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wheel = args.wheel or fetch_wheel(version, work)
        data = descriptor_set(wheel, work)
    target = HERE / "api.pb"
    if args.check:
        if not target.exists() or target.read_bytes() != data:
            print(f"{target} differs from kubeflow-katib {version}: run {__file__}")
            return 1
        print(f"{target} matches kubeflow-katib {version}")
        return 0
    target.write_bytes(data)
    print(f"wrote {target} ({len(data)} bytes) from kubeflow-katib {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
