"""Advisory-lock keys: 64-bit, computed here, one namespace per kind of lock.

`hashtext()` gives 32 bits, so among many user-chosen ids two collide (an even chance past
~77,000 ids, the birthday bound) and unrelated commands then wait on each other; and every lock
in the database shares its key space. A 64-bit key from blake2b over "<namespace>:<key>" makes
a collision negligible and keeps namespaces apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from servicekit.db import Connection

# A lock as a command declares it: (namespace, key), e.g. ("incubation", "base:b-1").
LockKey = tuple[str, str]


def lock_key(namespace: str, key: str) -> int:
    """The advisory-lock key of `key` in `namespace`, as PostgreSQL's signed bigint."""
    digest = hashlib.blake2b(f"{namespace}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_for_transaction(conn: Connection, namespace: str, key: str) -> None:
    """Wait for the transaction-scoped lock on `key`; it is released at commit or rollback."""
    await conn.execute("SELECT pg_advisory_xact_lock($1::bigint)", lock_key(namespace, key))


async def lock_all(conn: Connection, keys: Iterable[LockKey]) -> None:
    """Wait for every lock of `keys`, in one statement, in ascending order of the 64-bit keys:
    transactions that take their locks this way never wait for each other in a cycle."""
    ordered = sorted({lock_key(*key) for key in keys})
    if len(ordered) == 1:
        await conn.execute("SELECT pg_advisory_xact_lock($1::bigint)", ordered[0])
    elif ordered:
        # The sort of the ordinality comes before the volatile function: one lock at a time.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) WITH ORDINALITY AS t(k, n) "
            "ORDER BY n",
            ordered,
        )
