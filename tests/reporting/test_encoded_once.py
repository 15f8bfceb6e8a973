"""An answer's file in a format is encoded once, however many requests ask for it meanwhile.

At 1M, when a new credit list arrived under load, the eight clients asking for its Excel file
each encoded it (0.2 s of CPU each, in threads of one interpreter lock): every one waited
0.55-0.91 s (benchmarks/RESULTS.md, first section)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from servicekit.http import Problem
from services.reporting.api import common
from services.reporting.cache import Closed
from services.reporting.views import Rendered, ReportQuery

TABLE = common.Table((("a", "甲"),), "file", "title")


async def test_requests_asking_meanwhile_share_one_encode(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    release = asyncio.Event()

    async def encode(fmt: str, **_: Any) -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()  # every request asks while the first encode is under way
        return b"xlsx"

    monkeypatch.setattr(common, "encoded", encode)
    rendered = Rendered({"rows": []}, [{"a": 1}])
    asking = [asyncio.ensure_future(common.content_of(rendered, "xlsx", TABLE)) for _ in range(8)]
    await asyncio.sleep(0)  # one pass of the loop: every request is waiting now
    release.set()
    assert await asyncio.gather(*asking) == [b"xlsx"] * 8
    assert calls == 1
    assert rendered.encoded["xlsx"] == b"xlsx"
    assert await common.content_of(rendered, "xlsx", TABLE) == b"xlsx"
    assert calls == 1


async def test_a_report_asked_while_the_service_stops_is_a_503_problem() -> None:
    """The cache closed under a waiting request (the service stops): a problem the client can
    retry elsewhere, not a 500."""

    class Stopping:
        async def entry(self, pool: Any, query: Any) -> Any:
            raise Closed()

    runtime: Any = type("Runtime", (), {"pool": None})()
    query = ReportQuery("targets", dt.date(2024, 6, 30), None, None)
    with pytest.raises(Problem) as refused:
        await common.reply(Stopping(), runtime, query, "json", TABLE)  # type: ignore[arg-type]
    assert refused.value.status == 503
