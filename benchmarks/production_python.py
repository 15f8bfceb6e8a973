"""The interpreter the benchmarks serve the services with: a venv holding requirements.lock alone,
as the container image does (Dockerfile), not the development venv.

The development venv also holds the test tools (requirements-dev.lock). Some of them are imported
by a service there and never in production: structlog imports `rich` (schemathesis's) when it is
installed, 3.2 MiB in every process, so a service and its two fold workers measured ~10 MiB above
what the image runs (issue 12's RSS aim). CPU and RSS are measured on what ships.

Made once per lock (a stamp of its digest), under .state/; the project and the contracts are
installed editable, so the code measured is the working tree's.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".state" / "bench-production-venv"
STAMP = VENV / ".installed"
INPUTS = ("requirements.lock", "pyproject.toml", "contracts/pyproject.toml")


def _digest() -> str:
    return hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in INPUTS)).hexdigest()


def _pip(python: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603 - the venv's own pip, fixed arguments
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        cwd=ROOT,
        check=True,
    )


def production_python() -> str:
    """The production venv's interpreter, made or brought up to date first (seconds to a minute
    the first time; nothing once made)."""
    python = VENV / "bin" / "python"
    digest = _digest()
    if STAMP.exists() and STAMP.read_text() == digest and python.exists():
        return str(python)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603
    _pip(python, "--no-deps", "-r", "requirements.lock")
    _pip(python, "--no-deps", "-e", "./contracts", "-e", ".")
    STAMP.write_text(digest)
    return str(python)
