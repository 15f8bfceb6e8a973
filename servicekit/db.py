"""The connection type handlers receive (a plain asyncpg connection or a pooled one), and how
JSON values are written on one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import pydantic_core

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:  # asyncpg's runtime classes are not generic; only the stubs are
    Connection: TypeAlias = Any


def encode_json(value: Any) -> bytes:
    """A JSON value's text as the pools write json and jsonb (`eventstore.store.init_connection`).

    NaN and infinities as bare constants, as json.dumps wrote them: PostgreSQL refuses them
    rather than storing null where a number was (an event that could no longer be loaded)."""
    return pydantic_core.to_json(value, inf_nan_mode="constants")
