"""Reports are folded outside the service's process, so a fold never holds its event loop.

Before issue 12 a report's first request folded every fact on the event loop (31-39 s at a
million facts, no other request answered meanwhile). Here the service's own fold functions are
made to fail: the reports still answer, because only the fold worker process folds.
"""

from __future__ import annotations

import threading
from typing import Any

import asyncpg
import httpx
import pytest

from benchmarks.history_generator import fact_rows
from services.reporting import exports, readmodel
from services.reporting.domain import state
from tests.support import auth


async def test_reports_are_folded_outside_the_service_process(
    reporting: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        generation = await readmodel.current_generation(conn)
        async with conn.transaction():
            await readmodel.copy_fact_rows(conn, generation, list(fact_rows(800, seed=5)))
    finally:
        await conn.close()

    def no_fold_here(*_: object) -> None:
        raise AssertionError("a fold ran in the service's process")

    monkeypatch.setattr(state, "apply", no_fold_here)
    monkeypatch.setattr(state, "apply_event", no_fold_here)
    monkeypatch.setattr(state, "fold", no_fold_here)
    answer = await reporting.get("/reports/half-year?year=2020&half=year_end", headers=auth())
    assert answer.status_code == 200, answer.text
    assert answer.json()["city"]["agencies_registered"] > 0
    status = (await reporting.get("/projection/status", headers=auth())).json()
    assert status["generation"] == generation and "facts_estimate" in status


async def test_excel_exports_are_built_off_the_event_loop(
    reporting: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """openpyxl takes hundreds of milliseconds for a city table: not on the loop others wait on."""
    built_on: list[threading.Thread] = []
    to_xlsx = exports.to_xlsx

    def recorded(*args: Any, **kwargs: Any) -> bytes:
        built_on.append(threading.current_thread())
        return to_xlsx(*args, **kwargs)

    monkeypatch.setattr(exports, "to_xlsx", recorded)
    answer = await reporting.get("/reports/targets?format=xlsx", headers=auth())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == exports.XLSX
    assert len(built_on) == 1 and built_on[0] is not threading.main_thread()
