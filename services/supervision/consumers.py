"""What supervision learns from other services' topics, into its own tables.

Both projections tolerate events about agencies or incubations they never saw (other tests and
services publish to the same topics): an update that matches no row changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.incubation import (
    AgencyGraduated,
    IncubationStarted,
    IncubationTerminated,
)
from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyProfileAmended,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencySuspended,
)
from socialwork_contracts.topics import INCUBATION, REGISTRY

from servicekit.db import Connection
from services.supervision import readmodel


@dataclass
class KnownAgencies:
    """Registry topic -> agencies (name, reporting unit, registration date, status)."""

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
            case AgencyReinstated():
                await readmodel.set_agency_status(conn, event.uscc, "active")
            case AgencyDeregistered():
                await readmodel.set_agency_status(conn, event.uscc, "deregistered")
            case AgencyRegistrationRevoked():
                await readmodel.set_agency_status(conn, event.uscc, "revoked")
            case _:
                pass  # other registry facts do not matter to supervision

    async def reset(self, conn: Connection) -> None:
        await readmodel.forget(conn, "agencies")


@dataclass
class Residencies:
    """Incubation topic -> which agency was resident in which base, when."""

    name: str = "supervision.residencies"
    topics: tuple[str, ...] = field(default=(INCUBATION.name,))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        match event:
            case IncubationStarted():
                await readmodel.start_residency(
                    conn, event.incubation_id, event.uscc, event.base_id, event.started_on
                )
            case AgencyGraduated():
                await readmodel.end_residency(
                    conn, event.incubation_id, event.graduated_on, graduated=True
                )
            case IncubationTerminated():
                await readmodel.end_residency(
                    conn, event.incubation_id, event.terminated_on, graduated=False
                )
            case _:
                pass  # base events and support records do not matter here

    async def reset(self, conn: Connection) -> None:
        await readmodel.forget(conn, "residencies")
