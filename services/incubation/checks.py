"""The incubation service's scheduled check: facts that time alone produces.

Today one: a group in preparation (注册协助, issue 11 §2) not registered by its deadline is flagged
`GroupRegistrationOverdue` on its first overdue day. Command ids are deterministic
(`group-overdue:<provisional id>`), so running the check twice, or on two replicas, or again over
a replayed log, records the fact once; the fact is dated its overdue day, whenever the check ran.
A day after today is refused (the fact would be recorded ahead of time); a deadline in a year the
working calendar does not know waits, logged, and is never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from socialwork_contracts.periods import LOCAL_TIME_ZONE, UnknownCalendarYear, local_date

from servicekit.auth import Principal, Role
from servicekit.commands import CommandContext
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.eventstore import ConcurrencyConflict
from servicekit.runtime import Runtime
from services.incubation import readmodel
from services.incubation.domain.commands import MarkGroupRegistrationOverdue
from services.incubation.domain.group import overdue_from
from services.incubation.handlers import handle

log = structlog.get_logger()
CLOCK = Principal("system:incubation-clock", Role.SYSTEM)


class FutureCheckDate(ValueError):
    """A check as of a day after today (local) would record facts ahead of time."""


@dataclass
class CheckReport:
    as_of: dt.date
    groups_overdue: list[str] = field(default_factory=list)  # provisional ids flagged now
    skipped: int = 0  # refused by the domain: the group changed since the scan
    waiting: list[str] = field(default_factory=list)  # deadline in a year the calendar lacks


async def scheduled_check(runtime: Runtime, as_of: dt.date, now: dt.datetime) -> CheckReport:
    """Everything due on `as_of`, issued once; returns what this run recorded."""
    today = local_date(now)
    if as_of > today:
        raise FutureCheckDate(f"as_of {as_of} is after today ({today}, Asia/Shanghai)")
    report = CheckReport(as_of)
    async with runtime.pool.acquire() as conn:
        candidates = await readmodel.groups_past_deadline(conn, as_of)
    for row in candidates:
        pid = row["provisional_id"]
        try:
            day = overdue_from(row["register_by"])
        except UnknownCalendarYear as exc:
            log.error("scheduled_check.calendar_unknown", reason=str(exc), provisional_id=pid)
            report.waiting.append(pid)
            continue
        if day > as_of:
            continue  # the deadline fell on a day off and moved past as_of (§203)
        command = MarkGroupRegistrationOverdue(provisional_id=pid, overdue_on=day)
        context = CommandContext(
            principal=CLOCK,
            correlation_id=f"scheduled-check:{as_of.isoformat()}",
            occurred_at=min(dt.datetime.combine(day, dt.time(0, 0), tzinfo=LOCAL_TIME_ZONE), now),
            command_id=f"group-overdue:{pid}",
        )
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                outcome = await handle(runtime.store, conn, command, context)
        except (DomainRejected, InvalidTransition, ConcurrencyConflict) as exc:
            log.info("scheduled_check.skipped", provisional_id=pid, reason=str(exc))
            report.skipped += 1
            continue
        if not outcome.result.duplicate:
            report.groups_overdue.append(pid)
    log.info("scheduled_check.done", as_of=as_of.isoformat(), groups=len(report.groups_overdue))
    return report
