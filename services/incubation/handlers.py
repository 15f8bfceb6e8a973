"""The incubation service's commands, declared once, with the locks and facts each one needs.

A command about an incubation reads other streams and the read model (the base, the agency's
registry status and listings, who holds which office). To make those checks hold under
concurrency, commands take transaction-scoped advisory locks before they read, all of a command
(or of a group's batch) at once in one order (`servicekit.locks.lock_all`). Admissions to one
base are thus serialised (as optimistic concurrency on the base stream would), and so are
admissions of one agency to different bases. The partial UNIQUE indexes on `incubations` are
the last line of defence.

Which commands may be decided in a group's batch (`together`; see servicekit.command_table: no
other command of the batch may write what one's situation reads, bar under a shared lock key):
base commands and applications, whose locks the command names; the others run alone.
HTTP routes, the process managers and the scheduled check run these through
`servicekit.command_table.run_command`.
"""

from __future__ import annotations

from collections.abc import Callable

from socialwork_contracts.base import DomainEvent

from servicekit.auth import Principal
from servicekit.command_table import CommandHandler, CommandTable
from servicekit.db import Connection
from servicekit.decisions import event_narrowing
from servicekit.eventstore import EventStore
from servicekit.locks import LockKey, lock_all
from services.incubation import authz, readmodel
from services.incubation.domain import commands as cmd
from services.incubation.domain import group as group_domain
from services.incubation.domain import incubation as incubation_domain
from services.incubation.domain import incubation_base as base_domain
from services.incubation.domain.criteria import criteria_on
from services.incubation.domain.decide_incubation import decide_incubation
from services.incubation.domain.decide_incubation_base import decide_incubation_base
from services.incubation.domain.group import Group, GroupEvent
from services.incubation.domain.incubation import Incubation, IncubationEvent
from services.incubation.domain.incubation_base import BaseEvent, IncubationBase
from services.incubation.domain.situation import Situation

# Commands that take a place, an office or the agency's one incubation: serialised per base and
# per agency. Commands that only free capacity (graduation, termination) need no lock, which
# keeps the process managers (several agencies in one consumer batch) free of lock cycles.
TAKES_A_PLACE = (cmd.SubmitApplication, cmd.ApproveApplication, cmd.SignAgreement)

as_base_event: Callable[[DomainEvent], BaseEvent] = event_narrowing(BaseEvent, "a base")
as_incubation_event: Callable[[DomainEvent], IncubationEvent] = event_narrowing(
    IncubationEvent, "an incubation"
)
as_group_event: Callable[[DomainEvent], GroupEvent] = event_narrowing(GroupEvent, "a group")


def evolve_group(state: Group | None, event: DomainEvent) -> Group:
    return group_domain.evolve(state, as_group_event(event))


def evolve_base(state: IncubationBase | None, event: DomainEvent) -> IncubationBase:
    return base_domain.evolve(state, as_base_event(event))


def evolve_incubation(state: Incubation | None, event: DomainEvent) -> Incubation:
    return incubation_domain.evolve(state, as_incubation_event(event))


async def load_base(store: EventStore, conn: Connection, base_id: str) -> IncubationBase | None:
    state: IncubationBase | None = None
    for recorded in await store.read_stream(base_id, conn=conn):
        state = evolve_base(state, recorded.load())
    return state


async def load_incubation(
    store: EventStore, conn: Connection, incubation_id: str
) -> Incubation | None:
    state: Incubation | None = None
    for recorded in await store.read_stream(incubation_id, conn=conn):
        state = evolve_incubation(state, recorded.load())
    return state


# -- bases ----------------------------------------------------------------------------------


def base_locks(command: cmd.BaseCommand) -> tuple[LockKey, ...]:
    """A base command's decision reads its own stream and, closing, the places held at the base;
    evaluating, the base's stays, support, trainings, services and funding. In a batch, what
    writes those is a command on the same base (same key) or on an incubation at it: an
    application names the base (same key); approvals, agreements, exits and records of support
    or services take no key from the command and run alone, after the batch."""
    return (readmodel.lock_of(f"base:{command.base_id}"),)


async def lock_base(store: EventStore, conn: Connection, command: cmd.BaseCommand) -> None:
    await lock_all(conn, base_locks(command))


async def base_situation(
    store: EventStore, conn: Connection, command: cmd.BaseCommand
) -> Situation:
    """Closing reads who still holds a place; an evaluation reads the period's figures."""
    if isinstance(command, cmd.CloseBase):
        holding, _ = await readmodel.base_occupancy(conn, command.base_id, "")
        return Situation(base_holding=holding)
    if isinstance(command, cmd.EvaluateBase):
        figures = await readmodel.base_figures(
            conn, command.base_id, command.period_start, command.period_end
        )
        return Situation(figures=figures)
    return Situation()


def authorize_base(
    principal: Principal, state: IncubationBase | None, command: cmd.BaseCommand, _: Situation
) -> None:
    authz.authorize(principal, state, command)


BASE = CommandHandler[IncubationBase, cmd.BaseCommand, Situation](
    stream_id=lambda command: command.base_id,
    evolve=evolve_base,
    decide=decide_incubation_base,
    authorize=authorize_base,
    inline=readmodel.upsert_base,
    lock=lock_base,
    situation=base_situation,
    together=base_locks,
)

# -- groups in preparation (注册协助) -------------------------------------------------------


# Groups run alone: their situation reads the assisting base's stream, a base known for most
# of their commands only from the groups table, so no key of the command covers it (and they are
# few).
async def lock_group(store: EventStore, conn: Connection, command: cmd.GroupCommand) -> None:
    await readmodel.lock(conn, f"agency:{command.provisional_id}")  # as admissions do


async def assisting_base(
    store: EventStore, conn: Connection, command: cmd.GroupCommand
) -> IncubationBase | None:
    """The base that assists the group: it decides who may write the group's stream."""
    base_id = getattr(command, "base_id", None) or await readmodel.group_base(
        conn, command.provisional_id
    )
    return await load_base(store, conn, base_id) if base_id else None


def authorize_group(
    principal: Principal, _: Group | None, command: cmd.GroupCommand, base: IncubationBase | None
) -> None:
    authz.authorize(principal, base, command)


GROUP = CommandHandler[Group, cmd.GroupCommand, IncubationBase | None](
    stream_id=lambda command: command.provisional_id,
    evolve=evolve_group,
    decide=group_domain.decide_group,
    authorize=authorize_group,
    inline=readmodel.upsert_group,
    lock=lock_group,
    situation=assisting_base,
)

# -- incubations ----------------------------------------------------------------------------


async def _base_and_agency(
    store: EventStore, conn: Connection, command: cmd.IncubationCommand
) -> tuple[str, str, Incubation | None]:
    """The base and the agency a command is about: named by an application, else its stream's."""
    if isinstance(command, cmd.SubmitApplication):
        return command.base_id, command.uscc, None
    current = await load_incubation(store, conn, command.incubation_id)
    return (current.base_id, current.uscc, current) if current else ("", "", None)


def place_locks(base_id: str, uscc: str) -> tuple[LockKey, ...]:
    return readmodel.lock_of(f"base:{base_id}"), readmodel.lock_of(f"agency:{uscc}")


async def lock_place(store: EventStore, conn: Connection, command: cmd.IncubationCommand) -> None:
    if isinstance(command, TAKES_A_PLACE):
        base_id, uscc, _ = await _base_and_agency(store, conn, command)
        await lock_all(conn, place_locks(base_id, uscc))


def application_locks(command: cmd.IncubationCommand) -> tuple[LockKey, ...] | None:
    """An application names its base and agency; every other incubation command finds them in
    its stream, so it runs alone. An application reads the base's stream (written by commands
    on the base: same key), the agency's facts (consumers; a group's row: group commands run
    alone), the places the agency and the base hold (applications of the agency or to the base:
    same keys; approvals, agreements, exits and identity links run alone) and the call's
    approvals (approvals run alone). What it writes — its stream, a `submitted` row, which no
    count of places or approvals includes — no other command of the batch reads."""
    if isinstance(command, cmd.SubmitApplication):
        return place_locks(command.base_id, command.uscc)
    return None


async def incubation_situation(
    store: EventStore, conn: Connection, command: cmd.IncubationCommand
) -> Situation:
    """The base, the agency as the registry and supervision told us, and who holds what."""
    base_id, uscc, current = await _base_and_agency(store, conn, command)
    holding, occupied = await readmodel.base_occupancy(conn, base_id, command.incubation_id)
    call_id = command.call_id if isinstance(command, cmd.SubmitApplication) else None
    if call_id is None and current is not None:
        call_id = current.call_id
    return Situation(
        base=await load_base(store, conn, base_id) if base_id else None,
        agency=await readmodel.known_agency(conn, uscc),
        agency_holding=await readmodel.agency_holding(conn, uscc, command.incubation_id),
        base_holding=holding,
        occupied_offices=occupied,
        call_approved=await readmodel.call_approved(conn, call_id or "", command.incubation_id),
        criteria=(
            criteria_on(command.graduated_on) if isinstance(command, cmd.GraduateAgency) else None
        ),
    )


def authorize_incubation(
    principal: Principal, _: Incubation | None, command: cmd.IncubationCommand, known: Situation
) -> None:
    authz.authorize(principal, known.base, command)


INCUBATION = CommandHandler[Incubation, cmd.IncubationCommand, Situation](
    stream_id=lambda command: command.incubation_id,
    evolve=evolve_incubation,
    decide=decide_incubation,
    authorize=authorize_incubation,
    inline=readmodel.upsert_incubation,
    lock=lock_place,
    situation=incubation_situation,
    together=application_locks,
)

COMMANDS: CommandTable = {
    cmd.EstablishBase: BASE,
    cmd.UpdateFacilities: BASE,
    cmd.AdoptAdmissionStandard: BASE,
    cmd.PublishCall: BASE,
    cmd.RecordTraining: BASE,
    cmd.CloseBase: BASE,
    cmd.EvaluateBase: BASE,
    cmd.RecordBaseStaff: BASE,
    cmd.RecordBaseFunding: BASE,
    cmd.SubmitApplication: INCUBATION,
    cmd.ReviewApplication: INCUBATION,
    cmd.OpenPublicNotice: INCUBATION,
    cmd.RecordAdmissionObjection: INCUBATION,
    cmd.ApproveApplication: INCUBATION,
    cmd.RejectApplication: INCUBATION,
    cmd.SignAgreement: INCUBATION,
    cmd.StartIncubation: INCUBATION,
    cmd.ExtendIncubation: INCUBATION,
    cmd.RecordSupport: INCUBATION,
    cmd.GraduateAgency: INCUBATION,
    cmd.TerminateIncubation: INCUBATION,
    cmd.LinkIncubationIdentity: INCUBATION,
    cmd.RecordProfessionalServices: INCUBATION,
    cmd.MarkTermOverrun: INCUBATION,
    cmd.FlagInactivity: INCUBATION,
    cmd.RecordGroupInPreparation: GROUP,
    cmd.MarkGroupRegistrationOverdue: GROUP,
    cmd.RecordGroupRegistration: GROUP,
}
