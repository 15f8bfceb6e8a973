"""A fact: one applied event with both of its times, as the reporting service keeps it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

from services.reporting.domain.periods import local_date


@dataclass(frozen=True)
class Fact:
    event_id: str
    service: str
    event_type: str
    event_version: int
    stream_id: str
    uscc: str | None
    base_id: str | None
    effective_on: dt.date
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    data: dict[str, Any]


def effective_on(event: DomainEvent, occurred_at: dt.datetime) -> dt.date:
    """The local date a fact takes effect: its domain date where it has one, else occurred time.

    Reports "as of D by occurrence" include the facts whose effective date is on or before D.
    """
    match event:
        case reg.AgencyRegistered():
            return event.registered_on
        case inc.BaseEstablished():
            return event.established_on
        case inc.BaseFacilitiesUpdated():
            return event.updated_on
        case inc.BaseClosed():
            return event.closed_on
        case inc.IncubationStarted():
            return event.started_on
        case inc.IncubationExtended():
            return event.extended_on
        case inc.SupportRecorded():
            return event.given_on
        case inc.TrainingDelivered():
            return event.held_on
        case inc.AgencyGraduated():
            return event.graduated_on
        case inc.IncubationTerminated():
            return event.terminated_on
        case sup.ViolationRecorded():
            return event.found_on
        case sup.RectificationOrdered():
            return event.ordered_on
        case sup.RectificationConfirmed():
            return event.confirmed_on
        case sup.RectificationOverdue():
            return event.overdue_on
        case sup.PenaltyImposed():
            return event.decided_on
        case sup.AgencyListed():
            return event.listed_on
        case sup.AgencyDelisted():
            return event.removed_on
        case sup.AnnualInspectionConcluded():
            return event.concluded_on
        case sup.EvaluationGradeAwarded():
            return event.announced_on
        case sup.ListingClockRestarted():
            return event.restarted_on
        case sup.FollowUpEvaluationRecorded():
            return event.evaluated_on
        case sup.ProjectPerformanceEvaluated():
            return event.evaluated_on
        case sup.CommendationRecorded():
            return event.awarded_on
        case _:
            return local_date(occurred_at)


def fact_of(
    event_id: str,
    event: DomainEvent,
    stream_id: str,
    occurred_at: dt.datetime,
    recorded_at: dt.datetime,
) -> Fact:
    """The fact kept for one event (payload in its current version, after upcasting)."""
    data = event.model_dump(mode="json")
    uscc = data.get("uscc")
    base_id = data.get("base_id")
    return Fact(
        event_id=event_id,
        service=event.producer,
        event_type=event.event_type,
        event_version=event.event_version,
        stream_id=stream_id,
        uscc=uscc if isinstance(uscc, str) else None,
        base_id=base_id if isinstance(base_id, str) else None,
        effective_on=effective_on(event, occurred_at),
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        data=data,
    )
