"""The incubation service's scheduled check: facts that time alone produces.

- a group in preparation (注册协助, issue 11 §2) not registered by its deadline is flagged
  `GroupRegistrationOverdue` on its first overdue day;
- a stay still incubating past its term without extension (期满未续驻) is flagged
  `IncubationTermOverrun` on the day after the term end;
- a stay with no activity recorded for the days in force (长期未开展活动, default 90) is flagged
  `IncubationInactivityFlagged` on last activity + those days (domain/term.py).

Command ids are deterministic (`group-overdue:<id>`, `term-overrun:<id>:<term end>`,
`inactive:<id>:<last activity>`), so running the check twice, or on two replicas, or again over a
replayed log, records each fact once; a fact is dated its own day, whenever the check ran. A day
after today is refused (the fact would be recorded ahead of time); a deadline in a year the
working calendar does not know waits, logged, and is never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import structlog
from socialwork_contracts.periods import LOCAL_TIME_ZONE, UnknownCalendarYear

from servicekit.auth import Principal, Role
from servicekit.check_route import refuse_future
from servicekit.command_table import run_command
from servicekit.commands import CommandContext
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.eventstore import ConcurrencyConflict
from servicekit.runtime import Runtime
from services.incubation import readmodel
from services.incubation.domain.commands import (
    FlagInactivity,
    MarkGroupRegistrationOverdue,
    MarkTermOverrun,
)
from services.incubation.domain.group import overdue_from
from services.incubation.domain.term import inactive_days_on
from services.incubation.handlers import COMMANDS

Rows = list[dict[str, Any]]
log = structlog.get_logger()
CLOCK = Principal("system:incubation-clock", Role.SYSTEM)
Flag = MarkGroupRegistrationOverdue | MarkTermOverrun | FlagInactivity


@dataclass
class CheckReport:
    as_of: dt.date
    groups_overdue: list[str] = field(default_factory=list)  # provisional ids flagged now
    terms_overrun: list[str] = field(default_factory=list)  # incubation ids flagged now
    inactive: list[str] = field(default_factory=list)  # incubation ids flagged now
    skipped: int = 0  # refused by the domain: the stream changed since the scan
    waiting: list[str] = field(default_factory=list)  # deadline in a year the calendar lacks


async def scheduled_check(runtime: Runtime, as_of: dt.date, now: dt.datetime) -> CheckReport:
    """Everything due on `as_of`, issued once; returns what this run recorded."""
    refuse_future(as_of, now)
    report = CheckReport(as_of)
    async with runtime.pool.acquire() as conn:
        groups = await readmodel.groups_past_deadline(conn, as_of)
        overruns = await readmodel.stays_past_term(conn, as_of)
        quiet = await readmodel.quiet_stays(conn, as_of)
    await _groups_overdue(runtime, groups, as_of, now, report)
    await _terms_overrun(runtime, overruns, as_of, now, report)
    await _inactivity(runtime, quiet, as_of, now, report)
    log.info(
        "scheduled_check.done",
        as_of=as_of.isoformat(),
        groups=len(report.groups_overdue),
        overruns=len(report.terms_overrun),
        inactive=len(report.inactive),
    )
    return report


async def _groups_overdue(
    runtime: Runtime, rows: Rows, as_of: dt.date, now: dt.datetime, report: CheckReport
) -> None:
    """Groups in preparation past their registration deadline (§203 shift)."""
    for row in rows:
        pid = row["provisional_id"]
        try:
            day = overdue_from(row["register_by"])
        except UnknownCalendarYear as exc:
            log.error("scheduled_check.calendar_unknown", reason=str(exc), provisional_id=pid)
            report.waiting.append(pid)
            continue
        if day <= as_of:  # a deadline on a day off moved past as_of waits (§203)
            command = MarkGroupRegistrationOverdue(provisional_id=pid, overdue_on=day)
            if await _issue(runtime, command, f"group-overdue:{pid}", day, as_of, now, report):
                report.groups_overdue.append(pid)


async def _terms_overrun(
    runtime: Runtime, rows: Rows, as_of: dt.date, now: dt.datetime, report: CheckReport
) -> None:
    """Stays still running the day after their term, with no extension."""
    for row in rows:
        iid, term_end = row["incubation_id"], row["term_end"]
        day = term_end + dt.timedelta(days=1)  # a term is contractual: no §203 shift
        key = f"term-overrun:{iid}:{term_end.isoformat()}"
        if await _issue(runtime, MarkTermOverrun(incubation_id=iid, overrun_on=day), key, day,
                        as_of, now, report):  # fmt: skip
            report.terms_overrun.append(iid)


async def _inactivity(
    runtime: Runtime, rows: Rows, as_of: dt.date, now: dt.datetime, report: CheckReport
) -> None:
    """Stays with nothing recorded for the configured period."""
    for row in rows:
        iid, last = row["incubation_id"], row["last_activity_on"]
        day = last + dt.timedelta(days=inactive_days_on(last))
        if day > as_of:
            continue
        key = f"inactive:{iid}:{last.isoformat()}"
        if await _issue(runtime, FlagInactivity(incubation_id=iid, flagged_on=day), key, day,
                        as_of, now, report):  # fmt: skip
            report.inactive.append(iid)


async def _issue(
    runtime: Runtime,
    command: Flag,
    command_id: str,
    day: dt.date,
    as_of: dt.date,
    now: dt.datetime,
    report: CheckReport,
) -> bool:
    """Run one flag dated `day`; True when recorded now (not a repeat, not refused)."""
    context = CommandContext(
        principal=CLOCK,
        correlation_id=f"scheduled-check:{as_of.isoformat()}",
        occurred_at=min(dt.datetime.combine(day, dt.time(0, 0), tzinfo=LOCAL_TIME_ZONE), now),
        command_id=command_id,
    )
    try:
        async with runtime.pool.acquire() as conn, conn.transaction():
            outcome = await run_command(COMMANDS, runtime.store, conn, command, context)
    except (DomainRejected, InvalidTransition, ConcurrencyConflict) as exc:
        log.info("scheduled_check.skipped", command_id=command_id, reason=str(exc))
        report.skipped += 1
        return False
    return not outcome.result.duplicate
