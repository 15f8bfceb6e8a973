"""Advisory-lock keys: 64-bit, computed here, one namespace per kind of lock.

`hashtext()` gives 32 bits, so among many user-chosen ids two collide (an even chance past
~77,000 ids, the birthday bound) and unrelated commands then wait on each other; and every lock
in the database shares its key space. A 64-bit key from blake2b over "<namespace>:<key>" makes
a collision negligible and keeps namespaces apart.
"""

from __future__ import annotations

import hashlib

from servicekit.db import Connection


def lock_key(namespace: str, key: str) -> int:
    """The advisory-lock key of `key` in `namespace`, as PostgreSQL's signed bigint."""
    digest = hashlib.blake2b(f"{namespace}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_for_transaction(conn: Connection, namespace: str, key: str) -> None:
    """Wait for the transaction-scoped lock on `key`; it is released at commit or rollback."""
    await conn.execute("SELECT pg_advisory_xact_lock($1::bigint)", lock_key(namespace, key))
