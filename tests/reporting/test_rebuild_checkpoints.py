"""The switch-over's checkpoints are a head start, not part of the rebuild's promise."""

from __future__ import annotations

import socket

import structlog

from services.reporting.rebuild import keep_checkpoints


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_rebuild_whose_checkpoints_cannot_be_kept_still_succeeds() -> None:
    """The generation is switched by then and answers stay exact without them (the first fold
    of a date keeps them): a failed fold is logged, not raised as a failed rebuild."""
    dsn = f"postgresql://nobody@127.0.0.1:{_closed_port()}/none"
    with structlog.testing.capture_logs() as logs:
        await keep_checkpoints(dsn, "g0001")
    assert [e["event"] for e in logs] == ["reporting.checkpoints_not_kept"], logs
