"""The scheduled check: facts that time alone produces (overdue, automatic exit, escalation).

It scans the read model for what is due on `as_of` and issues commands with deterministic ids
(`overdue:<rectification>`, `auto-exit:<listing>:<day>`, `escalate:<listing>:<day>`), so running
it twice, or on two replicas, changes nothing the second time. Each item runs on its own: one
that fails is logged and counted, and the others go on (the next run tries it again). A day after
today is refused: the check would record overdue facts and listings ahead of time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import structlog
from socialwork_contracts.periods import LOCAL_TIME_ZONE, UnknownCalendarYear

from servicekit.auth import Principal, Role
from servicekit.check_route import refuse_future
from servicekit.command_table import run_command
from servicekit.commands import CommandContext
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.eventstore import ConcurrencyConflict
from servicekit.runtime import Runtime
from services.supervision import readmodel
from services.supervision.domain import inspection
from services.supervision.domain.commands import (
    EscalateListing,
    ExpireListing,
    MarkAnnualReportOverdue,
    MarkRectificationOverdue,
    SupervisionCommand,
)
from services.supervision.domain.periods import overdue_from
from services.supervision.handlers import COMMANDS

log = structlog.get_logger()
CLOCK = Principal("system:supervision-clock", Role.SYSTEM)
MAX_ROUNDS = 10  # an overdue found today may itself be due for escalation when as_of is far on
# The database itself is gone: every item would fail alike, so the run stops (and is retried).
OUTAGE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)

# Runs one command; True when it wrote new events (False: answered as a duplicate).
Execute = Callable[[SupervisionCommand, CommandContext], Awaitable[bool]]
Kind = Literal["overdue", "removed", "escalated", "reports_overdue"]


@dataclass
class CheckReport:
    as_of: dt.date
    overdue: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    reports_overdue: list[str] = field(default_factory=list)  # "<uscc>:<working year>"
    succeeded: int = 0  # items whose fact was recorded by this run
    skipped: int = 0  # refused by the domain: the file changed since the scan
    failed: int = 0  # items that raised; logged, tried again by the next run
    failures: list[str] = field(default_factory=list)  # their command ids

    def listed(self, kind: Kind) -> list[str]:
        return {
            "overdue": self.overdue,
            "removed": self.removed,
            "escalated": self.escalated,
            "reports_overdue": self.reports_overdue,
        }[kind]


@dataclass(frozen=True)
class Due:
    """One item the check found due: the command to issue and where the report lists it."""

    kind: Kind
    record_id: str  # the rectification or listing
    command_id: str
    command: SupervisionCommand
    day: dt.date  # the local day the fact happens


def fact_time(day: dt.date, now: dt.datetime) -> dt.datetime:
    """A clock-driven fact happened at the start of its local day (never later than now)."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=LOCAL_TIME_ZONE)
    return min(start, now)


async def scheduled_check(runtime: Runtime, as_of: dt.date, now: dt.datetime) -> CheckReport:
    """Run the scheduled check on a runtime (the periodic job and the admin endpoint)."""

    async def execute(command: SupervisionCommand, context: CommandContext) -> bool:
        # Each item in its own transaction, so a failure undoes only it.
        async with runtime.pool.acquire() as conn, conn.transaction():
            outcome = await run_command(COMMANDS, runtime.store, conn, command, context)
        return not outcome.result.duplicate

    return await run_checks(runtime, execute, as_of, now)


async def run_checks(
    runtime: Runtime, execute: Execute, as_of: dt.date, now: dt.datetime
) -> CheckReport:
    """Everything due on `as_of`, issued once; returns what was done this time."""
    refuse_future(as_of, now)
    report = CheckReport(as_of)
    settled: set[str] = set()  # skipped or failed this run: not tried again in a later round
    for _ in range(MAX_ROUNDS):
        items = [d for d in await due(runtime, as_of) if d.command_id not in settled]
        done = 0
        for item in items:
            if await issue(execute, item, as_of, now, report):
                done += 1
            else:
                settled.add(item.command_id)
        if done == 0:
            break
    log.info(
        "scheduled_check.done",
        as_of=as_of.isoformat(),
        overdue=len(report.overdue),
        removed=len(report.removed),
        escalated=len(report.escalated),
        skipped=report.skipped,
        failed=report.failed,
    )
    return report


async def due(runtime: Runtime, as_of: dt.date) -> list[Due]:
    """What the read model shows due on `as_of`, with deterministic command ids."""
    async with runtime.pool.acquire() as conn:
        rectifications = await readmodel.due_rectifications(conn, as_of)
        expiring = await readmodel.due_listings(conn, "auto_exit_on", as_of)
        escalating = await readmodel.due_listings(conn, "escalation_on", as_of)
    items: list[Due] = []
    for r in rectifications:
        rid = r["rectification_id"]
        day = _overdue_day(r["deadline"], rectification_id=rid)
        if day is None or day > as_of:
            continue
        overdue = MarkRectificationOverdue(uscc=r["uscc"], rectification_id=rid, overdue_on=day)
        items.append(Due("overdue", rid, f"overdue:{rid}", overdue, day))
    items += await _missing_reports(runtime, as_of)
    for x in expiring:
        lid, day = x["listing_id"], x["auto_exit_on"]
        expire = ExpireListing(uscc=x["uscc"], listing_id=lid, removed_on=day)
        items.append(Due("removed", lid, f"auto-exit:{lid}:{day}", expire, day))
    for x in escalating:
        lid, day = x["listing_id"], x["escalation_on"]
        escalate = EscalateListing(uscc=x["uscc"], listing_id=lid, escalated_on=day)
        items.append(Due("escalated", lid, f"escalate:{lid}:{day}", escalate, day))
    return items


def _overdue_day(deadline: dt.date, **ids: object) -> dt.date | None:
    """The first overdue day of an inclusive deadline (a day off moves it on, §203); None when
    the working calendar lacks its year — never guessed: the item waits, loudly."""
    try:
        return overdue_from(deadline)
    except UnknownCalendarYear as exc:
        log.error("scheduled_check.calendar_unknown", reason=str(exc), **ids)
        return None


async def _missing_reports(runtime: Runtime, as_of: dt.date) -> list[Due]:
    """Working years whose report deadline has passed with no report (docs/supervision.md)."""
    items: list[Due] = []
    for year in inspection.clock_years(as_of.year - 1):
        policy = inspection.year_policy(year)
        day = _overdue_day(inspection.filing_deadline(year, policy), year=year)
        if day is None or day > as_of:
            continue
        registered_by = inspection.last_registration_day(year, policy)
        async with runtime.pool.acquire() as conn:
            missing = await readmodel.missing_reports(conn, year, registered_by)
        for row in missing:
            uscc = row["uscc"]
            command = MarkAnnualReportOverdue(uscc=uscc, year=year, overdue_on=day)
            record = f"{uscc}:{year}"
            items.append(Due("reports_overdue", record, f"annual-report:{record}", command, day))
    return items


async def issue(
    execute: Execute, item: Due, as_of: dt.date, now: dt.datetime, report: CheckReport
) -> bool:
    """Run one item's command; True when it recorded its fact. Never raises for the item alone."""
    context = CommandContext(
        principal=CLOCK,
        correlation_id=f"scheduled-check:{as_of.isoformat()}",
        occurred_at=fact_time(item.day, now),
        command_id=item.command_id,
    )
    try:
        wrote = await execute(item.command, context)
    except (DomainRejected, InvalidTransition, ConcurrencyConflict) as exc:
        # The file changed since the scan (e.g. confirmed meanwhile): the next run sees it.
        log.info("scheduled_check.skipped", command_id=item.command_id, reason=str(exc))
        report.skipped += 1
        return False
    except OUTAGE:
        raise
    except Exception:
        # One bad item must not hold back the rest; it is logged with its ids and retried.
        log.exception(
            "scheduled_check.item_failed", command_id=item.command_id, uscc=item.command.uscc
        )
        report.failed += 1
        report.failures.append(item.command_id)
        return False
    if wrote:
        report.succeeded += 1
        report.listed(item.kind).append(item.record_id)
    return wrote
