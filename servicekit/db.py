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
    """A JSON value's text as json and jsonb are written (`binary_json`); bytes are JSON text
    already (a replay's fact payloads, serialised once).

    NaN and infinities as bare constants, as json.dumps wrote them: PostgreSQL refuses them
    rather than storing null where a number was (an event that could no longer be loaded)."""
    if isinstance(value, bytes):
        return value
    return pydantic_core.to_json(value, inf_nan_mode="constants")


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + encode_json(value)


def _decode_jsonb(data: bytes) -> Any:
    return pydantic_core.from_json(data[1:])


_JSONB_VERSION = b"\x01"  # jsonb's binary form: a version byte, then the JSON text


async def binary_json(conn: Connection) -> None:
    """json and jsonb on this connection as Python values (dicts), in binary, through
    pydantic-core's JSON (about 4x the stdlib's speed: issue 12's write path encodes every event
    and reads every stream); json's binary form is the text itself. Every pool's connections
    have it (`eventstore.store.init_connection`); COPY needs it (binary only)."""
    await conn.set_type_codec(
        "json",
        encoder=encode_json,
        decoder=pydantic_core.from_json,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )
