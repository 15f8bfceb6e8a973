"""A pooled connection learns the array types the platform's statements use once, when it opens.

asyncpg learns a type it has no codec for (every array here but text[]) by a catalog query
of its own, once per connection and per statement that meets new ones: ~15 ms each, so up to
seven on each of a pool's connections, paid by the requests that first met them (issue 12,
session 20: the first seconds after a start at 200 commands/s)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from servicekit.eventstore import store

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
CAST = re.compile(r"::([a-z]+)\[\]")


def test_every_array_type_the_code_casts_to_is_learned_when_a_connection_opens() -> None:
    cast = {
        match
        for folder in ("servicekit", "services")
        for path in (ROOT / folder).rglob("*.py")
        for match in CAST.findall(path.read_text("utf-8"))
    }
    assert cast, "the pattern finds the code's casts"
    assert cast <= {*store.ARRAY_TYPES, "text"}  # text[] has a codec of asyncpg's own


async def test_a_pooled_connection_meets_the_array_types_without_learning_them(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = await store.create_pool(database_url, max_size=1)
    learned: list[Any] = []
    introspect = asyncpg.Connection._introspect_types  # type: ignore[attr-defined]  # its own step

    async def counted(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        learned.append(args[0])
        return await introspect(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "_introspect_types", counted)
    try:
        async with pool.acquire() as conn:
            for name in store.ARRAY_TYPES:
                assert await conn.fetchval(f"SELECT cardinality($1::{name}[])", []) == 0
    finally:
        await pool.close()
    assert learned == []
