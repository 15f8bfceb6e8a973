"""Helpers shared by the integration tests (factories, waiting for conditions)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from socialwork_contracts.registry import AgencyStaffChanged

from servicekit.auth import Principal, Role, TokenSettings, issue_token
from servicekit.eventstore import EventMetadata, NewEvent
from tests.conftest import TEST_SECRET

T = TypeVar("T")

TOKENS = TokenSettings(TEST_SECRET, "socialwork-dev", "socialwork")
ADMIN = Principal("admin-1", Role.CITY_ADMIN)


def token(role: Role, *, sub: str = "tester", unit: str | None = None, base: str | None = None) -> str:
    return issue_token(
        TOKENS, subject=sub, role=role, unit=unit, base=base, now=dt.datetime.now(dt.UTC)
    )


def auth(role: Role = Role.CITY_ADMIN, **scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **scope)}"}


def metadata(actor: str = "tester") -> EventMetadata:
    return EventMetadata(
        actor=actor,
        actor_role="city_admin",
        occurred_at=dt.datetime.now(dt.UTC),
        correlation_id="corr-test",
        causation_id="cause-test",
    )


def staff_event(uscc: str, n: int = 3) -> NewEvent:
    return NewEvent(AgencyStaffChanged(uscc=uscc, full_time_staff=n, qualified_staff=1), metadata())


async def wait_for(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Poll `probe` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)
