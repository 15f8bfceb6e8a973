"""Running supervision commands outside the HTTP router: the credit file's fold, the agency facts a
decision reads, and the scheduled check's commands (the clock acts for the bureau)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialwork_contracts.base import DomainEvent

from servicekit.commands import CommandContext, execute
from servicekit.db import Connection
from servicekit.runtime import Runtime
from services.supervision import readmodel
from services.supervision.domain.commands import KnownAgency, SupervisionCommand
from services.supervision.domain.credit_file import CreditFile, evolve
from services.supervision.domain.decide import decide
from services.supervision.domain.events import as_supervision_event


def evolve_file(state: CreditFile | None, event: DomainEvent) -> CreditFile:
    return evolve(state, as_supervision_event(event))


async def known_agency(conn: Connection, command: Any) -> KnownAgency | None:
    """What the registry and incubation told us of the command's agency (residency on the day
    a violation was found), read in the command's transaction."""
    found_on: dt.date | None = getattr(command, "found_on", None)
    return await readmodel.known_agency(conn, command.uscc, found_on)


async def run_for_clock(
    runtime: Runtime, command: SupervisionCommand, context: CommandContext
) -> bool:
    """One command of the scheduled check, in its own transaction, so a failure undoes only it.
    True when it recorded new events (False: answered as a duplicate)."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        agency = await readmodel.known_agency(conn, command.uscc, None)
        outcome = await execute(
            runtime.store,
            stream_id=command.uscc,
            command=command,
            context=context,
            evolve=evolve_file,
            decide=lambda state, c: decide(state, c, agency),
            authorize=lambda state: None,  # the clock acts for the bureau
            inline=readmodel.project_credit_file,
            conn=conn,
        )
    return not outcome.result.duplicate
