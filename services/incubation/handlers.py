"""Thin handlers: lock, load the situation, fold, decide, append — in the caller's transaction.

A command about an incubation reads other streams and the read model (the base, the agency's
registry status and listings, who holds which office). To make those checks hold under
concurrency, every command takes transaction-scoped advisory locks, always in the same order:
first the base, then the agency. Admissions to one base are thus serialised (as optimistic
concurrency on the base stream would), and so are admissions of one agency to different bases.
The partial UNIQUE indexes on `incubations` are the last line of defence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from socialwork_contracts.base import DomainEvent

from servicekit.commands import CommandContext, Outcome, execute
from servicekit.db import Connection
from servicekit.decisions import event_narrowing
from servicekit.eventstore import EventStore
from services.incubation import authz, readmodel
from services.incubation.domain import group as group_domain
from services.incubation.domain import incubation as incubation_domain
from services.incubation.domain import incubation_base as base_domain
from services.incubation.domain.commands import (
    ApproveApplication,
    BaseCommand,
    CloseBase,
    EvaluateBase,
    GraduateAgency,
    GroupCommand,
    IncubationCommand,
    SignAgreement,
    SubmitApplication,
)
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
TAKES_A_PLACE = (SubmitApplication, ApproveApplication, SignAgreement)


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


async def handle(
    store: EventStore,
    conn: Connection,
    command: BaseCommand | IncubationCommand | GroupCommand,
    context: CommandContext,
    *,
    expected_version: int | None = None,
) -> Outcome:
    """Run one command inside the caller's transaction on `conn`."""
    if isinstance(command, BaseCommand):
        return await _handle_base(store, conn, command, context, expected_version)
    if isinstance(command, GroupCommand):
        return await _handle_group(store, conn, command, context, expected_version)
    return await _handle_incubation(store, conn, command, context, expected_version)


async def _handle_base(
    store: EventStore,
    conn: Connection,
    command: BaseCommand,
    context: CommandContext,
    expected_version: int | None,
) -> Outcome:
    await readmodel.lock(conn, f"base:{command.base_id}")
    situation = Situation()
    if isinstance(command, CloseBase):
        holding, _ = await readmodel.base_occupancy(conn, command.base_id, "")
        situation = Situation(base_holding=holding)
    if isinstance(command, EvaluateBase):
        figures = await readmodel.base_figures(
            conn, command.base_id, command.period_start, command.period_end
        )
        situation = Situation(figures=figures)

    def decide(state: IncubationBase | None, cmd: Any) -> list[BaseEvent]:
        return decide_incubation_base(state, cmd, situation)

    return await execute(
        store,
        stream_id=command.base_id,
        command=command,
        context=context,
        evolve=evolve_base,
        decide=decide,
        authorize=lambda state: authz.authorize(context.principal, state, command),
        expected_version=expected_version,
        inline=readmodel.upsert_base,
        conn=conn,
    )


async def _handle_group(
    store: EventStore,
    conn: Connection,
    command: GroupCommand,
    context: CommandContext,
    expected_version: int | None,
) -> Outcome:
    """注册协助: the group's own stream; the assisting base decides who may write it."""
    await readmodel.lock(conn, f"agency:{command.provisional_id}")  # as admissions do
    base_id = getattr(command, "base_id", None) or await readmodel.group_base(
        conn, command.provisional_id
    )
    base = await load_base(store, conn, base_id) if base_id else None

    def decide(state: Group | None, cmd: Any) -> list[GroupEvent]:
        return group_domain.decide_group(state, cmd, base)

    return await execute(
        store,
        stream_id=command.provisional_id,
        command=command,
        context=context,
        evolve=evolve_group,
        decide=decide,
        authorize=lambda _state: authz.authorize(context.principal, base, command),
        expected_version=expected_version,
        inline=readmodel.upsert_group,
        conn=conn,
    )


async def _handle_incubation(
    store: EventStore,
    conn: Connection,
    command: IncubationCommand,
    context: CommandContext,
    expected_version: int | None,
) -> Outcome:
    current: Incubation | None = None
    if isinstance(command, SubmitApplication):
        base_id, uscc = command.base_id, command.uscc
    else:
        current = await load_incubation(store, conn, command.incubation_id)
        base_id = current.base_id if current else ""
        uscc = current.uscc if current else ""
    if isinstance(command, TAKES_A_PLACE):
        # Always base first, then agency: one order everywhere, so no deadlock.
        await readmodel.lock(conn, f"base:{base_id}")
        await readmodel.lock(conn, f"agency:{uscc}")
    base = await load_base(store, conn, base_id) if base_id else None
    holding, occupied = await readmodel.base_occupancy(conn, base_id, command.incubation_id)
    call_id = command.call_id if isinstance(command, SubmitApplication) else None
    if call_id is None and current is not None:
        call_id = current.call_id
    situation = Situation(
        base=base,
        agency=await readmodel.known_agency(conn, uscc),
        agency_holding=await readmodel.agency_holding(conn, uscc, command.incubation_id),
        base_holding=holding,
        occupied_offices=occupied,
        call_approved=await readmodel.call_approved(conn, call_id or "", command.incubation_id),
        criteria=criteria_on(command.graduated_on) if isinstance(command, GraduateAgency) else None,
    )

    def decide(state: Incubation | None, cmd: Any) -> list[IncubationEvent]:
        return decide_incubation(state, cmd, situation)

    return await execute(
        store,
        stream_id=command.incubation_id,
        command=command,
        context=context,
        evolve=evolve_incubation,
        decide=decide,
        authorize=lambda _state: authz.authorize(context.principal, base, command),
        expected_version=expected_version,
        inline=readmodel.upsert_incubation,
        conn=conn,
    )
