"""Projections fed by other services' topics, and the process managers they drive.

- `incubation.registry-agencies`: the registry's agencies (name, reporting unit, status) into
  `incubation.agencies`; a deregistration or revocation ends the agency's incubation; a
  registration naming a group in preparation links the group and its incubations (注册协助).
- `incubation.supervision-credit`: credit-list intervals into `incubation.listings`; the serious
  list, a serious violation, or a suspension/revocation penalty ends the agency's incubation
  (domain.md); an abnormal listing only bars admission, funding and graduation.

Both tolerate events about agencies or incubations they do not know (other tests and services
share the topics): nothing to do is not an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent
from socialwork_contracts.incubation import TerminationReason
from socialwork_contracts.periods import local_date
from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyProfileAmended,
    AgencyRegistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencyStaffChanged,
    AgencySuspended,
)
from socialwork_contracts.supervision import (
    AgencyDelisted,
    AgencyListed,
    AnnualInspectionConcluded,
    PenaltyImposed,
    ViolationRecorded,
)
from socialwork_contracts.topics import REGISTRY, SUPERVISION

from servicekit.consumer import apply_runs
from servicekit.db import Connection
from servicekit.eventstore import EventStore
from servicekit.process import react
from services.incubation import readmodel
from services.incubation.domain.commands import (
    LinkIncubationIdentity,
    RecordGroupRegistration,
    TerminateIncubation,
)
from services.incubation.handlers import COMMANDS

# guidance §5.3 bans: a serious violation of these is a breach of the incubation agreement.
BREACH_CATEGORIES = frozenset(
    {"office_subletting", "premises_altered", "commercial_activity", "unrelated_activity"}
)
SERIOUS = frozenset({"serious", "grave"})
ENDING_PENALTIES = frozenset({"suspension", "revocation"})


def local_day(envelope: CloudEvent) -> dt.date:
    """The Asia/Shanghai calendar day on which the triggering fact happened."""
    return local_date(envelope.time)


async def end_incubations(
    store: EventStore,
    conn: Connection,
    envelope: CloudEvent,
    *,
    uscc: str,
    reason: TerminationReason,
    detail: str,
    process: str,
) -> None:
    """Process manager: terminate the agency's incubation (if any) in the consumer's transaction.

    `servicekit.process.react` derives the command id from the triggering event's id, so a
    redelivery changes nothing; a refusal (already graduated or terminated) is a logged no-op.
    It takes the agency's lock, as admissions do, before it looks for the agency's places: a
    concurrent admission or agreement either committed before (and is terminated here) or
    runs after and sees the agency closed. Approved stays end too, not only signed ones.
    """
    await readmodel.lock(conn, f"agency:{uscc}")
    for index, incubation_id in enumerate(await readmodel.holding_incubations(conn, uscc)):
        command = TerminateIncubation(
            incubation_id=incubation_id,
            reason=reason,
            detail=detail,
            terminated_on=local_day(envelope),
        )
        # At most one incubation holds an office per agency (invariant); the suffix only keeps
        # command ids distinct if that were ever not so.
        name = process if index == 0 else f"{process}/{incubation_id}"
        # Retries itself when a concurrent command wins the stream.
        await react(COMMANDS, store, conn, envelope, process=name, command=command)


async def link_group(
    store: EventStore,
    conn: Connection,
    envelope: CloudEvent,
    event: AgencyRegistered,
    *,
    process: str,
) -> None:
    """注册协助 (issue 11 §2): the registration names a group in preparation; the group and each
    of its incubations (whatever their status: the history follows the agency) are linked to
    the credit code, in the consumer's transaction. An unknown or already linked group is a
    recorded refusal (`servicekit.process.react`), so a replay never decides again."""
    pid = event.provisional_id
    assert pid is not None
    await readmodel.lock(conn, f"agency:{pid}")  # as admissions under the provisional id do
    group = RecordGroupRegistration(
        provisional_id=pid, uscc=event.uscc, registered_on=event.registered_on
    )
    linked = await react(COMMANDS, store, conn, envelope, process=f"{process}/group", command=group)
    if linked is None:
        return  # not a group this service assists, or linked before: nothing to carry over
    for incubation_id in await readmodel.group_incubations(conn, pid):
        command = LinkIncubationIdentity(
            incubation_id=incubation_id,
            provisional_id=pid,
            uscc=event.uscc,
            linked_on=event.registered_on,
        )
        link = f"{process}/link/{incubation_id}"
        await react(COMMANDS, store, conn, envelope, process=link, command=command)


@dataclass
class RegistryAgencies:
    """The registry's agencies as this service needs them; ends incubations of closed ones."""

    store: EventStore
    name: str = "incubation.registry-agencies"
    topics: Sequence[str] = field(default_factory=lambda: (REGISTRY.name,))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        version = envelope.streamversion
        match event:
            case AgencyRegistered():
                staff = event.full_time_staff, event.qualified_staff
                await readmodel.upsert_agency(
                    conn, event.uscc, event.name, event.reporting_unit, "active", version, staff
                )
                if event.provisional_id is not None:
                    await link_group(self.store, conn, envelope, event, process=self.name)
            case AgencyStaffChanged():
                staff = event.full_time_staff, event.qualified_staff
                await readmodel.update_agency(conn, event.uscc, version, staff=staff)
            case AgencyProfileAmended():
                await readmodel.update_agency(
                    conn, event.uscc, version, name=event.name, unit=event.reporting_unit
                )
            case AgencySuspended():
                await readmodel.update_agency(conn, event.uscc, version, status="suspended")
            case AgencyReinstated():
                await readmodel.update_agency(conn, event.uscc, version, status="active")
            case AgencyDeregistered() | AgencyRegistrationRevoked():
                closed = "deregistered" if isinstance(event, AgencyDeregistered) else "revoked"
                await readmodel.update_agency(conn, event.uscc, version, status=closed)
                word = "注销登记" if closed == "deregistered" else "撤销登记"
                await end_incubations(
                    self.store,
                    conn,
                    envelope,
                    uscc=event.uscc,
                    reason="deregistration_or_revocation",
                    detail=f"登记管理机关{word}：{event.reason}",
                    process=self.name,
                )
            case _:
                return  # other registry facts do not concern incubation

    async def apply_together(
        self, conn: Connection, events: Sequence[tuple[CloudEvent, DomainEvent]]
    ) -> None:
        """Registrations in one upsert per run (issue 12: a batch's first write gives it a
        transaction id, which holds every relay back until it commits), the rest as `apply`."""
        await apply_runs(conn, events, _plain_registration, _upsert_agencies, self.apply)

    async def reset(self, conn: Connection) -> None:
        await readmodel.reset_agencies(conn)


def _plain_registration(event: DomainEvent) -> str | None:
    """A registration with no provisional group to link (that one reacts): its uscc."""
    if isinstance(event, AgencyRegistered) and event.provisional_id is None:
        return event.uscc
    return None


async def _upsert_agencies(conn: Connection, run: Sequence[tuple[CloudEvent, DomainEvent]]) -> None:
    await readmodel.upsert_agencies(conn, [_agency_row(e, event) for e, event in run])


def _agency_row(
    envelope: CloudEvent, event: DomainEvent
) -> tuple[str, str, str, str, int, int, int]:
    assert isinstance(event, AgencyRegistered)  # a run holds registrations only
    staff = event.full_time_staff, event.qualified_staff
    return event.uscc, event.name, event.reporting_unit, "active", envelope.streamversion, *staff


@dataclass
class SupervisionCredit:
    """Credit-list intervals; a serious case ends the incubation (domain.md)."""

    store: EventStore
    name: str = "incubation.supervision-credit"
    topics: Sequence[str] = field(default_factory=lambda: (SUPERVISION.name,))

    async def apply(self, conn: Connection, envelope: CloudEvent, event: DomainEvent) -> None:
        match event:
            case AgencyListed():
                await readmodel.open_listing(
                    conn, event.listing_id, event.uscc, event.list, event.ground, event.listed_on
                )
                if event.list == "serious":  # an abnormal listing bars admission, not the stay
                    await self._end(
                        conn,
                        envelope,
                        event.uscc,
                        "penalty_or_listing",
                        f"列入严重违法失信名单（{event.ground}）",
                    )
            case AgencyDelisted():
                await readmodel.close_listing(
                    conn, event.listing_id, event.reason, event.removed_on
                )
            case AnnualInspectionConcluded():  # graduation reads the latest (docs/incubation.md)
                await readmodel.record_inspection(conn, event.uscc, event.year, event.conclusion)
            case ViolationRecorded() if event.severity in SERIOUS:
                reason: TerminationReason = (
                    "agreement_breach"
                    if event.category in BREACH_CATEGORIES
                    else "penalty_or_listing"
                )
                await self._end(
                    conn,
                    envelope,
                    event.uscc,
                    reason,
                    f"严重违规（{event.category}）：{event.facts}",
                )
            case PenaltyImposed() if event.kind in ENDING_PENALTIES:
                await self._end(
                    conn,
                    envelope,
                    event.uscc,
                    "penalty_or_listing",
                    f"行政处罚（{event.kind}）：{event.document_number}",
                )
            case _:
                return

    async def _end(
        self,
        conn: Connection,
        envelope: CloudEvent,
        uscc: str,
        reason: TerminationReason,
        detail: str,
    ) -> None:
        await end_incubations(
            self.store, conn, envelope, uscc=uscc, reason=reason, detail=detail, process=self.name
        )

    async def reset(self, conn: Connection) -> None:
        await readmodel.reset_listings(conn)
