"""The supervision service's commands, declared once: every one is about one agency's credit
file (stream = the credit code), decided with what the registry and incubation told us of the
agency, read in the command's transaction. HTTP routes, the registry-facts process manager and
the scheduled check (the clock acts for the bureau) run them through
`servicekit.command_table.run_command`.

A group's commands are decided together (`together`, servicekit.command_table): what a
command's situation reads (the agencies and residencies tables) only the consumers of the
registry's and incubation's topics write, never a supervision command, so no command of the
group changes another's situation, and none takes a lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from socialwork_contracts.base import DomainEvent

from servicekit.command_table import CommandHandler, CommandTable
from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.locks import LockKey
from services.supervision import readmodel
from services.supervision.authz import authorize
from services.supervision.domain import commands as cmd
from services.supervision.domain.credit_file import CreditFile, evolve
from services.supervision.domain.decide import decide
from services.supervision.domain.events import as_supervision_event


def evolve_file(state: CreditFile | None, event: DomainEvent) -> CreditFile:
    return evolve(state, as_supervision_event(event))


async def known_agency(
    store: EventStore, conn: Connection, command: cmd.SupervisionCommand
) -> cmd.KnownAgency | None:
    """What the registry and incubation told us of the command's agency (residency on the day
    a violation was found)."""
    return (await known_agencies(store, conn, [command]))[0]


async def known_agencies(
    store: EventStore, conn: Connection, commands: Sequence[cmd.SupervisionCommand]
) -> list[cmd.KnownAgency | None]:
    """`known_agency` of each command, in one read."""
    found_on: list[dt.date | None] = [getattr(c, "found_on", None) for c in commands]
    return await readmodel.known_agencies(
        conn, [(c.uscc, day) for c, day in zip(commands, found_on, strict=True)]
    )


def no_locks(command: cmd.SupervisionCommand) -> tuple[LockKey, ...]:
    return ()


CREDIT_FILE = CommandHandler[CreditFile, cmd.SupervisionCommand, cmd.KnownAgency | None](
    stream_id=lambda command: command.uscc,  # the contract keys supervision events by uscc
    evolve=evolve_file,
    decide=decide,
    authorize=authorize,
    inline=readmodel.project_credit_file,
    situation=known_agency,
    together=no_locks,
    situations=known_agencies,
)

COMMANDS: CommandTable = {
    cmd.RecordViolation: CREDIT_FILE,
    cmd.OrderRectification: CREDIT_FILE,
    cmd.ConfirmRectification: CREDIT_FILE,
    cmd.ImposePenalty: CREDIT_FILE,
    cmd.ConcludeAnnualInspection: CREDIT_FILE,
    cmd.RecordSponsorReview: CREDIT_FILE,
    cmd.FileAnnualReport: CREDIT_FILE,
    cmd.AwardEvaluationGrade: CREDIT_FILE,
    cmd.RecordCommendation: CREDIT_FILE,
    cmd.RecordGovernmentProject: CREDIT_FILE,
    cmd.EvaluateProjectPerformance: CREDIT_FILE,
    cmd.RecordFollowUpEvaluation: CREDIT_FILE,
    cmd.ListAgency: CREDIT_FILE,
    cmd.DelistAgency: CREDIT_FILE,
    cmd.MarkRectificationOverdue: CREDIT_FILE,
    cmd.ExpireListing: CREDIT_FILE,
    cmd.EscalateListing: CREDIT_FILE,
    cmd.ListForRegistrationSanction: CREDIT_FILE,
    cmd.MarkAnnualReportOverdue: CREDIT_FILE,
}
