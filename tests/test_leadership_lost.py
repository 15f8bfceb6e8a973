"""A leader's lost connection is named as such, whatever state the pool left its proxy in."""

from __future__ import annotations

from typing import cast

import asyncpg
import pytest

from servicekit.db import Connection
from servicekit.leadership import still_held


class _Detached:
    """What asyncpg's pool leaves of a connection it took back when the server went away."""

    def is_closed(self) -> bool:
        raise asyncpg.InterfaceError(
            "cannot call Connection.is_closed(): connection has been released back to the pool"
        )


class _Closed:
    def is_closed(self) -> bool:
        return True


@pytest.mark.parametrize("conn", [_Detached(), _Closed()])
def test_a_lost_leader_connection_says_whose_lock_went_with_it(conn: object) -> None:
    with pytest.raises(asyncpg.InterfaceError, match="connection holding relay:registry closed"):
        still_held(cast(Connection, conn), "relay:registry")
