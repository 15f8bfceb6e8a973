"""The scheduled check: facts that time alone produces (overdue, automatic exit, escalation).

It scans the read model for what is due on `as_of` and issues commands with deterministic ids
(`overdue:<rectification>`, `auto-exit:<listing>:<day>`, `escalate:<listing>:<day>`), so running
it twice, or on two replicas, changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from servicekit.auth import Principal, Role
from servicekit.commands import CommandContext
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.eventstore import ConcurrencyConflict
from servicekit.runtime import Runtime
from services.supervision import readmodel
from services.supervision.domain.commands import (
    EscalateListing,
    ExpireListing,
    MarkRectificationOverdue,
    SupervisionCommand,
)

log = structlog.get_logger()
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")
CLOCK = Principal("system:supervision-clock", Role.SYSTEM)
MAX_ROUNDS = 10  # an overdue found today may itself be due for escalation when as_of is far on

# Runs one command; True when it wrote new events (False: answered as a duplicate).
Execute = Callable[[SupervisionCommand, CommandContext], Awaitable[bool]]


@dataclass
class CheckReport:
    as_of: dt.date
    overdue: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def local_date(instant: dt.datetime) -> dt.date:
    """Calendar rules run on the local (Asia/Shanghai) date."""
    return instant.astimezone(LOCAL).date()


def fact_time(day: dt.date, now: dt.datetime) -> dt.datetime:
    """A clock-driven fact happened at the start of its local day (never later than now)."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=LOCAL)
    return min(start, now)


async def run_checks(
    runtime: Runtime, execute: Execute, as_of: dt.date, now: dt.datetime
) -> CheckReport:
    """Everything due on `as_of`, issued once; returns what was done this time."""
    report = CheckReport(as_of)

    async def issue(command: SupervisionCommand, command_id: str, day: dt.date) -> bool:
        context = CommandContext(
            principal=CLOCK,
            correlation_id=f"scheduled-check:{as_of.isoformat()}",
            occurred_at=fact_time(day, now),
            command_id=command_id,
        )
        try:
            return await execute(command, context)
        except (DomainRejected, InvalidTransition, ConcurrencyConflict) as exc:
            # The file changed since the scan (e.g. confirmed meanwhile): the next run sees it.
            log.info("scheduled_check.skipped", command_id=command_id, reason=str(exc))
            return False

    for _ in range(MAX_ROUNDS):
        async with runtime.pool.acquire() as conn:
            rectifications = await readmodel.due_rectifications(conn, as_of)
            expiring = await readmodel.due_listings(conn, "auto_exit_on", as_of)
            escalating = await readmodel.due_listings(conn, "escalation_on", as_of)
        done = 0
        for r in rectifications:
            overdue_on = r["deadline"] + dt.timedelta(days=1)
            command = MarkRectificationOverdue(
                uscc=r["uscc"], rectification_id=r["rectification_id"], overdue_on=overdue_on
            )
            if await issue(command, f"overdue:{r['rectification_id']}", overdue_on):
                report.overdue.append(r["rectification_id"])
                done += 1
        for x in expiring:
            day = x["auto_exit_on"]
            expire = ExpireListing(uscc=x["uscc"], listing_id=x["listing_id"], removed_on=day)
            if await issue(expire, f"auto-exit:{x['listing_id']}:{day}", day):
                report.removed.append(x["listing_id"])
                done += 1
        for x in escalating:
            day = x["escalation_on"]
            escalate = EscalateListing(uscc=x["uscc"], listing_id=x["listing_id"], escalated_on=day)
            if await issue(escalate, f"escalate:{x['listing_id']}:{day}", day):
                report.escalated.append(x["listing_id"])
                done += 1
        if done == 0:
            break
    log.info(
        "scheduled_check.done",
        as_of=as_of.isoformat(),
        overdue=len(report.overdue),
        removed=len(report.removed),
        escalated=len(report.escalated),
    )
    return report
