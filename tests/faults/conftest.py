"""The fault suite's own servers, a fresh stage per scenario, and the table at the end of the run.

The suite kills its broker and its database server, so it never uses the session's shared ones
(tests/conftest.py `infra`) nor KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devstack.postgres import PostgresProcess

from tests.conftest import TEST_SECRET
from tests.faults import report
from tests.faults.fleet import Fleet
from tests.faults.infra import Broker, create_database, drop_database
from tests.faults.scenario import Stage
from tests.support import own_postgres

ROWS = pytest.StashKey[list[report.Row]]()
TABLE_PATH = Path(__file__).resolve().parents[2] / ".state" / "faults" / "fault-table.txt"


@pytest.fixture(scope="module")
def fault_postgres() -> Iterator[PostgresProcess]:
    with own_postgres("socialwork-faults-pg-") as server:
        yield server


@pytest.fixture(scope="session")
def fault_table(request: pytest.FixtureRequest) -> Path:
    """Where the table is written after every scenario (so even an aborted run leaves it):
    the worktree's .state (ignored by git), which pytest does not prune as it does tmp dirs."""
    request.config.stash.setdefault(ROWS, [])  # tests/cluster adds its rows too
    return TABLE_PATH


@pytest.fixture
async def stage(
    fault_postgres: PostgresProcess,
    fault_table: Path,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> AsyncIterator[Stage]:
    """A fresh broker and a fresh database for one scenario; its services are added by it."""
    kafka_dir = Path(tempfile.mkdtemp(prefix="socialwork-faults-kafka-"))
    broker = Broker(kafka_dir)
    database_url = await create_database(fault_postgres)
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "AUTH_JWT_SECRET": TEST_SECRET,
        "RELAY_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    fleet = Fleet(env, tmp_path)
    try:
        yield Stage(
            fault_postgres, broker, database_url, fleet, request.config.stash[ROWS], fault_table
        )
    finally:
        fleet.stop()
        broker.discard()
        shutil.rmtree(kafka_dir, ignore_errors=True)
        if fault_postgres.running():
            await drop_database(fault_postgres, database_url)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    rows = config.stash.get(ROWS, [])
    if rows:
        terminalreporter.section("fault-injection scenarios")
        terminalreporter.write(report.render(rows))
        terminalreporter.write_line(f"(also in {TABLE_PATH})")
