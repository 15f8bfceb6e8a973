"""What supervision learns from other services' topics, into its own tables.

A suspension or revocation the registry records lists the agency here (domain.md "Serious
list"): the registry owns the registration decision, supervision its credit consequence. A
qualified-staff share fallen short is recorded here as a violation an officer can order rectified.

Both projections tolerate events about agencies or incubations they never saw (other tests and
services publish to the same topics): an update that matches no row changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.incubation import (
    AgencyGraduated,
    IncubationExtended,
    IncubationIdentityLinked,
    IncubationStarted,
    IncubationTerminated,
)
from socialwork_contracts.periods import local_date
from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyProfileAmended,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencySuspended,
    QualifiedStaffShareFellShort,
)
from socialwork_contracts.topics import INCUBATION, REGISTRY

from servicekit.consumer import apply_runs
from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.process import react
from services.supervision import readmodel
from services.supervision.domain.commands import (
    ListForRegistrationSanction,
    RecordViolation,
    SupervisionCommand,
)
from services.supervision.handlers import COMMANDS

# Deterministic violation ids for shortfalls: one per registry event, whatever is redelivered.
SHORTFALL_IDS = uuid.UUID("0b6c8f5e-3f1d-4a57-9a55-5b1f3c0d7e21")


@dataclass
class KnownAgencies:
    """Registry topic -> agencies (name, reporting unit, registration date, status); a
    suspension or revocation -> the serious list (process manager)."""

    store: EventStore
    name: str = "supervision.agencies"
    topics: tuple[str, ...] = field(default=(REGISTRY.name,))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        match event:
            case AgencyRegistered():
                await readmodel.add_agency(
                    conn, event.uscc, event.name, event.reporting_unit, event.registered_on
                )
            case AgencyProfileAmended():
                await readmodel.amend_agency(conn, event.uscc, event.name, event.reporting_unit)
            case AgencySuspended():
                await readmodel.set_agency_status(conn, event.uscc, "suspended")
                await self._list(conn, envelope, event.uscc, "suspension", event.decision_document)
            case AgencyReinstated():
                await readmodel.set_agency_status(conn, event.uscc, "active")
            case AgencyDeregistered():
                await readmodel.set_agency_status(conn, event.uscc, "deregistered")
            case AgencyRegistrationRevoked():
                await readmodel.set_agency_status(conn, event.uscc, "revoked")
                await self._list(conn, envelope, event.uscc, "revocation", event.decision_document)
            case QualifiedStaffShareFellShort():
                await self._record_shortfall(conn, envelope, event)
            case _:
                pass  # other registry facts do not matter to supervision

    async def apply_together(
        self, conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
    ) -> None:
        """Registrations in one insert per run (issue 12: a batch's first write gives it a
        transaction id, which holds every relay back until it commits), the rest as `apply`."""
        await apply_runs(conn, events, _registered_uscc, _add_agencies, self.apply)

    async def _record_shortfall(
        self, conn: Connection, envelope: CloudEvent, event: QualifiedStaffShareFellShort
    ) -> None:
        found_on = local_date(envelope.time)
        command = RecordViolation(
            uscc=event.uscc,
            violation_id=str(uuid.uuid5(SHORTFALL_IDS, envelope.id)),
            category="qualified_staff_below_ratio",
            severity="minor",
            facts=f"专职人员{event.full_time_staff}人，持证或具社工本科以上学历"
            f"{event.qualified_staff}人，不足三分之一（应至少{event.required_qualified_staff}人）",
            evidence_ref=f"登记管理机关记录 {envelope.id}",
            found_on=found_on,
        )
        await self._react(conn, envelope, command)

    async def _list(
        self,
        conn: Connection,
        envelope: CloudEvent,
        uscc: str,
        kind: Literal["suspension", "revocation"],
        document: str | None,
    ) -> None:
        command = ListForRegistrationSanction(
            uscc=uscc,
            kind=kind,
            decided_on=local_date(envelope.time),
            decision_document=document,
            cause_ref=envelope.id,
        )
        await self._react(conn, envelope, command)

    async def _react(
        self, conn: Connection, envelope: CloudEvent, command: SupervisionCommand
    ) -> None:
        """Decide `command` on the agency's credit file because of `envelope` (once)."""
        await react(COMMANDS, self.store, conn, envelope, process=self.name, command=command)

    async def reset(self, conn: Connection) -> None:
        await readmodel.forget(conn, "agencies")


def _registered_uscc(event: DomainEvent) -> str | None:
    return event.uscc if isinstance(event, AgencyRegistered) else None


async def _add_agencies(conn: Connection, run: Sequence[tuple[CloudEvent, DomainEvent]]) -> None:
    await readmodel.add_agencies(conn, [_agency_row(event) for _, event in run])


def _agency_row(event: DomainEvent) -> tuple[str, str, str, dt.date]:
    assert isinstance(event, AgencyRegistered)  # a run holds registrations only
    return event.uscc, event.name, event.reporting_unit, event.registered_on


@dataclass
class Residencies:
    """Incubation topic -> which agency was resident in which base, when."""

    name: str = "supervision.residencies"
    topics: tuple[str, ...] = field(default=(INCUBATION.name,))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        match event:
            case IncubationStarted():
                await readmodel.start_residency(
                    conn,
                    event.incubation_id,
                    event.uscc,
                    event.base_id,
                    event.started_on,
                    event.term_end,
                )
            case IncubationExtended():
                await readmodel.extend_residency(conn, event.incubation_id, event.term_end)
            case AgencyGraduated():
                await readmodel.end_residency(
                    conn, event.incubation_id, event.graduated_on, graduated=True
                )
            case IncubationTerminated():
                await readmodel.end_residency(
                    conn, event.incubation_id, event.terminated_on, graduated=False
                )
            case IncubationIdentityLinked():  # 注册协助: the stay is the registered agency's
                await readmodel.relink_residency(conn, event.incubation_id, event.uscc)
            case _:
                pass  # base events and support records do not matter here

    async def reset(self, conn: Connection) -> None:
        await readmodel.forget(conn, "residencies")
