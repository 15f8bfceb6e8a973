"""schemathesis against each service, as a process on the test PostgreSQL and Kafka.

Every operation gets a bounded budget (its coverage cases, then 10 generated ones): no answer
may be a server error or fall outside the documented statuses, content types, headers and
schemas. A city administrator's token reaches every operation's logic.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from servicekit.auth import Role
from tests.integration.processes import ServiceProcess
from tests.support import token

pytestmark = pytest.mark.infra
SCHEMATHESIS = Path(sys.executable).with_name("st")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
# Rebuilding a view would make the service not ready for the rest of the run.
EXCLUDED = ("/admin/consumers/{name}/rebuild",)


@pytest.mark.parametrize("service", ["registry", "incubation", "supervision", "reporting"])
def test_no_server_error_and_nothing_undocumented(
    service: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    process = ServiceProcess(f"services.{service}", service_env, tmp_path / "service.log")
    process.start()
    try:
        command = [
            str(SCHEMATHESIS),
            "run",
            f"{process.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token(Role.CITY_ADMIN, sub='schemathesis')}",
            "--checks",
            CHECKS,
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "10",
            # One worker: hypothesis' lambda descriptions parse source with `ast`, which
            # CPython 3.11 does not allow from several threads at once.
            "--workers",
            "1",
            "--seed",
            "20261204",
            "--request-timeout",
            "30",
            "--warnings",
            "off",
            "--no-color",
        ]
        for path in EXCLUDED:
            command += ["--exclude-path", path]
        run = subprocess.run(  # noqa: S603 - our own tool, fixed arguments
            command, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        process.terminate()
    log = (tmp_path / "service.log").read_text(errors="replace")
    assert run.returncode == 0, f"{run.stdout[-12000:]}\n{run.stderr[-3000:]}\n{log[-4000:]}"
