"""The registry reacts to supervision: a revocation or suspension penalty changes registration."""

from __future__ import annotations

from dataclasses import dataclass, field

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.supervision import PenaltyImposed
from socialwork_contracts.topics import SUPERVISION

from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.process import react
from services.registry.domain.commands import RevokeAgencyRegistration, SuspendAgency
from services.registry.handlers import COMMANDS


@dataclass
class SupervisionPenalties:
    """Process manager: PenaltyImposed(revocation|suspension) -> the registration follows."""

    store: EventStore
    name: str = "registry.supervision-penalties"
    topics: tuple[str, ...] = field(default=(SUPERVISION.name,))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        if not isinstance(event, PenaltyImposed):
            return
        command: RevokeAgencyRegistration | SuspendAgency
        reason = f"行政处罚（{event.deciding_department}，{event.document_number}）"
        if event.kind == "revocation":
            command = RevokeAgencyRegistration(
                uscc=event.uscc,
                reason=reason,
                decision_document=event.document_number,
                legal_basis=event.legal_basis,
            )
        elif event.kind == "suspension":
            command = SuspendAgency(
                uscc=event.uscc,
                until=event.suspended_until,
                reason=reason,
                decision_document=event.document_number,
            )
        else:
            return
        await react(COMMANDS, self.store, conn, envelope, process=self.name, command=command)

    async def reset(self, conn: Connection) -> None:
        """Nothing to forget: the commands it issued are facts in the registry's own log."""
