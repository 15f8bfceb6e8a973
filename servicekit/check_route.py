"""A service's scheduled check, run on demand: `POST /commands/run-scheduled-checks`.

The same check the leader-elected job runs (servicekit.scheduler), for a city administrator who
needs it now or as of an earlier day (a replayable fact dated its own day). Never ahead of today:
that would record facts before they are due.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at runtime.
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from socialwork_contracts.periods import local_date

from servicekit.auth import Role, require_role
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.http import Problem
from servicekit.runtime import Runtime

# check(runtime, as_of, now) -> a dataclass saying what this run recorded
Check = Callable[[Runtime, dt.date, dt.datetime], Awaitable[Any]]


class FutureCheckDate(ValueError):
    """A check as of a day after today (local) would record facts ahead of time."""


def refuse_future(as_of: dt.date, now: dt.datetime) -> None:
    today = local_date(now)
    if as_of > today:
        raise FutureCheckDate(f"as_of {as_of} is after today ({today}, Asia/Shanghai)")


class RunChecks(BaseModel):
    as_of: dt.date | None = Field(
        default=None,
        description="Local date to check as of, not after today (Asia/Shanghai); omit for today",
    )


def add_check_route(router: APIRouter, check: Check, summary: str) -> None:
    """Add the on-demand route of `check` to a service's command router."""

    @router.post("/commands/run-scheduled-checks", tags=["commands"], summary=summary)
    async def run_scheduled_checks(runtime: CurrentRuntime, caller: Caller, body: RunChecks) -> Any:
        require_role(caller, frozenset({Role.CITY_ADMIN}), "run the scheduled check")
        now = dt.datetime.now(dt.UTC)
        try:
            report = await check(runtime, body.as_of or local_date(now), now)
        except FutureCheckDate as exc:
            raise Problem(
                422, "future_date", "检查日期不能晚于今天 (date after today)", str(exc)
            ) from exc
        return dataclasses.asdict(report)
