"""Applying DDL: schema names checked before they are interpolated, and a part's DDL run once
per version rather than at every start. Kept lean: reporting's fold workers import it."""

from __future__ import annotations

import asyncio
import hashlib
import re

import asyncpg

from servicekit.db import Connection

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def checked_schema(name: str) -> str:
    """Schema names are interpolated into DDL, so only plain identifiers are accepted."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid schema name {name!r}")
    return name


# An upgrade's DDL waits this long for a table lock, then gives way and tries again: waiting
# longer would queue every command behind it.
DDL_LOCK_TIMEOUT = "2s"
DDL_ATTEMPTS = 10
_GIVE_WAY = (asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError)


async def apply_ddl(
    conn: Connection, schema: str, part: str, text: str, *, force: bool = False
) -> bool:
    """Run `part`'s DDL in `schema` unless this very text was applied there before (or `force`);
    says whether it ran. Every instance runs its DDL at start, while others serve: `CREATE INDEX
    IF NOT EXISTS` and `ALTER TABLE … IF NOT EXISTS` lock their tables even when there is
    nothing to do, and in one transaction those locks closed cycles with commands in flight.
    Applied DDL is recorded in `schema.ddl_applied`, so a start of the same version takes no
    table lock. Concurrent starts are serialised by one advisory lock."""
    s = checked_schema(schema)
    digest = hashlib.sha256(text.encode()).hexdigest()
    for attempt in range(DDL_ATTEMPTS):
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl'))")
                if not force and await _applied(conn, s, part) == digest:
                    return False
                await conn.execute(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'")
                await conn.execute(text)
                await _record_applied(conn, s, part, digest)
            return True
        except _GIVE_WAY:
            if attempt == DDL_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))  # commands in flight end meanwhile
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _applied(conn: Connection, s: str, part: str) -> str | None:
    if await conn.fetchval("SELECT to_regclass($1)", f"{s}.ddl_applied") is None:
        return None
    digest: str | None = await conn.fetchval(
        f"SELECT digest FROM {s}.ddl_applied WHERE part = $1", part
    )
    return digest


async def _record_applied(conn: Connection, s: str, part: str, digest: str) -> None:
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {s}.ddl_applied (part text PRIMARY KEY, "
        "digest text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute(
        f"INSERT INTO {s}.ddl_applied AS a (part, digest) VALUES ($1, $2) "
        "ON CONFLICT (part) DO UPDATE SET digest = $2, applied_at = now()",
        part,
        digest,
    )
