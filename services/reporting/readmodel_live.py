"""The live projection's one lookup that locks: which generation the consumer writes into."""

from __future__ import annotations

from servicekit.db import Connection
from services.reporting.readmodel import CONTROL, checked_generation


async def generation_for_write(conn: Connection) -> str:
    """FOR SHARE: a switch-over (FOR UPDATE) waits for this batch, and this batch for it."""
    value: str = await conn.fetchval(f"SELECT current FROM {CONTROL}.generation FOR SHARE")
    return checked_generation(value)
