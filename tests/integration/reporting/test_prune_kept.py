"""`python -m services.reporting prune-kept` (run by an operator once every instance runs this
build): deletes the kept states and day figures this build never reads, those of another build's
code (layout) or of the facts before a reset (file node), and nothing it reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys

import asyncpg

from services.reporting.domain import checkpoint
from services.reporting.kept_figures import half_year_layout
from tests.integration.reporting.fold_oracle import G
from tests.integration.reporting.fold_oracle import pool as pool  # the fixture

DAY = dt.date(2024, 6, 30)
CURRENT = f"pg_relation_filenode('{G}.facts'::regclass)"
STATE = (
    f"INSERT INTO {G}.checkpoints (filenode, layout, day, snapshot, state) "
    "VALUES ({filenode}, $1, $2, '', '\\x00')"
)
FIGURES = (
    f"INSERT INTO {G}.recorded_figures (filenode, layout, day, period_end, snapshot, figures) "
    "VALUES ({filenode}, $1, $2, $2, '', '{{}}')"
)


async def test_prune_kept_deletes_the_rows_of_other_builds_and_of_facts_before_a_reset(
    pool: asyncpg.Pool, database_url: str, service_env: dict[str, str]
) -> None:
    for statement, layout in ((STATE, checkpoint.LAYOUT), (FIGURES, half_year_layout())):
        for filenode, kept in ((CURRENT, layout), (CURRENT, "an older build"), ("1", layout)):
            await pool.execute(statement.format(filenode=filenode), kept, DAY)

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.reporting",
        "prune-kept",
        env=service_env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    assert json.loads(out) == {
        "generation": G,
        "deleted": {"checkpoints": 2, "recorded_figures": 2},
    }
    for table, layout in (
        ("checkpoints", checkpoint.LAYOUT),
        ("recorded_figures", half_year_layout()),
    ):
        left = await pool.fetch(f"SELECT layout, filenode = {CURRENT} AS current FROM {G}.{table}")
        assert [tuple(r) for r in left] == [(layout, True)], table
