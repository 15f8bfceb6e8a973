"""The contracts package installs on its own, from a plain venv, with pydantic as its only need."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parents[1]
# pydantic and what it pulls in; pip/setuptools come with the venv itself.
ALLOWED = {
    "socialwork-contracts",
    "pydantic",
    "pydantic-core",
    "typing-extensions",
    "annotated-types",
    "typing-inspection",
    "pip",
    "setuptools",
}

PROBE = """
import json, sys
from socialwork_contracts import catalog
from socialwork_contracts.envelope import CloudEvent

message = CloudEvent.model_validate_json(open(sys.argv[1], encoding="utf-8").read())
name, _, version = message.type.rpartition(".v")
event = catalog.load(name, int(version), message.data)
print(json.dumps({"type": event.type_key(), "uscc": getattr(event, "uscc", None)}))
"""


def _run(*args: str | Path, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(  # noqa: S603 - fixed argv: the test venv's own python on local paths
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_installs_alone_and_reads_an_example(tmp_path: Path) -> None:
    source = tmp_path / "contracts"
    source.mkdir()
    shutil.copy(CONTRACTS / "pyproject.toml", source)
    shutil.copy(CONTRACTS / "README.md", source)
    shutil.copytree(CONTRACTS / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    _run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        source,
        cwd=tmp_path,
    )

    example = CONTRACTS / "examples" / "AgencyRegistered.v1.json"
    loaded = json.loads(_run(python, "-c", PROBE, example, cwd=tmp_path))
    assert loaded["type"] == "AgencyRegistered.v2"
    assert loaded["uscc"] == json.loads(example.read_text("utf-8"))["data"]["uscc"]

    listed = json.loads(_run(python, "-m", "pip", "list", "--format=json", cwd=tmp_path))
    installed = {_normalise(p["name"]) for p in listed}
    assert installed - ALLOWED == set()
    assert {"socialwork-contracts", "pydantic"} <= installed
