"""The grpcurl commands of the top-level README's "Clients" section, run as written
(against a server of the test's own instead of localhost:50051), with grpcurl as
scripts/install-deps.sh installs it. The server offers only grpc.reflection.v1alpha;
these pass only if grpcurl falls back to it."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from conftest import REPO_ROOT

MARKER = "<!-- grpcurl-commands:"


def grpcurl_binary() -> str:
    if os.environ.get("HPO_GRPCURL"):
        return os.environ["HPO_GRPCURL"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    tools = Path(os.environ.get("HPO_GO_TOOLS_BIN") or Path(cache) / "hpo-tools/go/bin")
    found = tools / "grpcurl"
    if found.is_file():
        return str(found)
    on_path = shutil.which("grpcurl")
    if on_path:
        return on_path
    pytest.fail(f"grpcurl not found in {tools} or on PATH: run scripts/install-deps.sh")


def readme_commands() -> List[List[str]]:
    """The commands of the ```sh block after the marker, split as a shell would:
    backslash-newline continues a line, a quote spans lines, # starts a comment line."""
    text = (REPO_ROOT / "README.md").read_text()
    at = text.index(MARKER)
    block = re.search(r"```sh\n(.*?)```", text[at:], re.S)
    assert block, "no ```sh block after the grpcurl marker"
    commands: List[List[str]] = []
    pending = ""
    for line in block.group(1).splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if line.endswith("\\"):
            continue
        try:
            commands.append(shlex.split(pending.replace("\\\n", " ")))
        except ValueError:  # an open quote: the command goes on
            continue
        pending = ""
    assert not pending, f"unterminated command: {pending!r}"
    return commands


def test_readme_grpcurl_commands_work_through_v1alpha_reflection(fresh_server):
    grpcurl = grpcurl_binary()
    commands = readme_commands()
    assert [c[0] for c in commands] == ["grpcurl"] * 7
    outputs = []
    for argv in commands:
        argv = [grpcurl] + [fresh_server.address if a == "localhost:50051" else a for a in argv[1:]]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{shlex.join(argv)}\n{out.stdout}\n{out.stderr}"
        outputs.append(out.stdout)

    listed = outputs[0].split()
    assert "hpo.v1.HpoService" in listed and "grpc.health.v1.Health" in listed
    created = json.loads(outputs[1])
    assert created["name"] == "quadratic" and created["state"] == "CREATED"
    assert created["algorithm"]["name"] == "auto"
    trial = json.loads(outputs[2])
    assert trial["number"] == 0 and trial["state"] == "RUNNING"
    assert -5 <= trial["parameters"]["x"] <= 5 and trial["parameters"]["kind"] in ("a", "b")
    reported = json.loads(outputs[3])
    assert reported["state"] == "COMPLETED" and reported["metrics"] == {"loss": 1.25}
    best = json.loads(outputs[4])
    assert len(best["trials"]) == 1 and best["trials"][0]["metrics"] == {"loss": 1.25}
    # Health by name needs the health service's descriptor in reflection.
    assert json.loads(outputs[5]) == {"status": "SERVING"}
    assert json.loads(outputs[6]) == {"status": "SERVING"}


def test_grpcurl_describes_the_api_from_reflection(fresh_server):
    out = subprocess.run(
        [grpcurl_binary(), "-plaintext", fresh_server.address, "describe", "hpo.v1.Trial"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "message Trial {" in out.stdout and "parameters = 4" in out.stdout
