"""servicekit.locks on the real PostgreSQL server: 64-bit keys, namespaces kept apart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from servicekit.locks import lock_for_transaction, lock_key

pytestmark = pytest.mark.infra


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    yield first, second
    await first.close()
    await second.close()


def test_keys_are_stable_signed_64_bit_and_apart_by_namespace() -> None:
    key = lock_key("incubation", "base:1")
    assert key == lock_key("incubation", "base:1")
    assert -(2**63) <= key < 2**63
    assert key != lock_key("append", "base:1")
    assert len({lock_key("incubation", f"agency:{n}") for n in range(100_000)}) == 100_000


async def test_a_held_key_blocks_the_same_key_only(
    two: tuple[asyncpg.Connection, asyncpg.Connection],
) -> None:
    holder, other = two
    async with holder.transaction():
        await lock_for_transaction(holder, "incubation", "base:1")
        taken = "SELECT pg_try_advisory_xact_lock($1::bigint)"
        async with other.transaction():
            assert await other.fetchval(taken, lock_key("incubation", "base:1")) is False
            assert await other.fetchval(taken, lock_key("relay", "base:1")) is True
    # Released at commit.
    async with other.transaction():
        assert await other.fetchval(taken, lock_key("incubation", "base:1")) is True
