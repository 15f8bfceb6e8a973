"""decide(state, command, agency) -> events: supervision decisions, pure (no clock, ids or I/O).

`agency` is what the service knows of the agency from the registry (None: unknown). Listings are
never typed in for grounds the facts already give: the decision that records a penalty, an
overdue rectification or an unfiled annual report emits the listing too. Each lifecycle stage
decides in its own module; this one only says which.
"""

from __future__ import annotations

from typing import assert_never

from socialwork_contracts.base import DomainEvent

from services.supervision.domain.commands import (
    AwardEvaluationGrade,
    ConcludeAnnualInspection,
    ConfirmRectification,
    DelistAgency,
    EscalateListing,
    EvaluateProjectPerformance,
    ExpireListing,
    FileAnnualReport,
    ImposePenalty,
    KnownAgency,
    ListAgency,
    ListForRegistrationSanction,
    MarkAnnualReportOverdue,
    MarkRectificationOverdue,
    OrderRectification,
    RecordCommendation,
    RecordFollowUpEvaluation,
    RecordGovernmentProject,
    RecordSponsorReview,
    RecordViolation,
    SupervisionCommand,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.decide_annual import decide_annual
from services.supervision.domain.decide_listings import decide_listing
from services.supervision.domain.decide_penalties import decide_penalty
from services.supervision.domain.decide_records import decide_record
from services.supervision.domain.decide_rectification import decide_rectification
from services.supervision.domain.guards import agency_not_found

__all__ = ["agency_not_found", "decide"]


def decide(
    state: CreditFile | None, command: SupervisionCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The events a command produces; DomainRejected or InvalidTransition when refused."""
    match command:
        case (
            RecordViolation()
            | OrderRectification()
            | ConfirmRectification()
            | MarkRectificationOverdue()
        ):
            return decide_rectification(state, command, agency)
        case ImposePenalty() | ListForRegistrationSanction():
            return decide_penalty(state, command, agency)
        case ListAgency() | DelistAgency() | ExpireListing() | EscalateListing():
            return decide_listing(state, command, agency)
        case (
            ConcludeAnnualInspection()
            | MarkAnnualReportOverdue()
            | RecordSponsorReview()
            | FileAnnualReport()
        ):
            return decide_annual(state, command, agency)
        case (
            AwardEvaluationGrade()
            | RecordCommendation()
            | RecordGovernmentProject()
            | EvaluateProjectPerformance()
            | RecordFollowUpEvaluation()
        ):
            return decide_record(state, command, agency)
        case _:
            assert_never(command)
