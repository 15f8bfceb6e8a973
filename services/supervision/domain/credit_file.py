"""The credit file (诚信档案) of one agency, folded from its supervision events.

Its records are defined in credit_records (re-exported here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from socialwork_contracts.supervision import (
    AgencyDelisted,
    AgencyListed,
    AnnualInspectionConcluded,
    AnnualReportFiled,
    AnnualReportOverdue,
    AnnualReportPreliminarilyReviewed,
    CommendationRecorded,
    CreditList,
    EvaluationGradeAwarded,
    FollowUpEvaluationRecorded,
    GovernmentProjectRecorded,
    ListingClockRestarted,
    PenaltyImposed,
    ProjectPerformanceEvaluated,
    RectificationConfirmed,
    RectificationOrdered,
    RectificationOverdue,
    ViolationRecorded,
)

from servicekit.decisions import EventOutOfOrder, exhaustive, present
from services.supervision.domain.credit_records import (
    Cause,
    Commendation,
    FollowUp,
    GovernmentProject,
    Grade,
    Inspection,
    Listing,
    Penalty,
    PerformanceEvaluation,
    Rectification,
    Violation,
    cause_of,
    inspection_of,
    listing_of,
    penalty_of,
    rectification_of,
    violation_of,
)
from services.supervision.domain.events import SupervisionEvent
from services.supervision.domain.inspection import report_cause

__all__ = [
    "Cause",
    "Commendation",
    "CreditFile",
    "FollowUp",
    "GovernmentProject",
    "Grade",
    "Inspection",
    "Listing",
    "Penalty",
    "PerformanceEvaluation",
    "Rectification",
    "Violation",
    "evolve",
    "fold",
]


@dataclass(frozen=True, slots=True)
class CreditFile:
    uscc: str
    violations: tuple[Violation, ...] = ()
    rectifications: tuple[Rectification, ...] = ()
    penalties: tuple[Penalty, ...] = ()
    listings: tuple[Listing, ...] = ()
    inspections: tuple[Inspection, ...] = ()
    grades: tuple[Grade, ...] = ()
    commendations: tuple[Commendation, ...] = ()
    projects: tuple[GovernmentProject, ...] = ()
    performance: tuple[PerformanceEvaluation, ...] = ()
    follow_ups: tuple[FollowUp, ...] = ()
    overdue_reports: tuple[int, ...] = ()  # working years whose report was missing at the deadline
    # The annual-report cycle (issue 11 §3): (working year, day) of the sponsor's preliminary
    # review (初审) and of the filing with civil affairs (报送), each recorded once.
    sponsor_reviews: tuple[tuple[int, dt.date], ...] = ()
    filed_reports: tuple[tuple[int, dt.date, bool], ...] = ()  # (year, day, late)

    def filed(self, year: int) -> dt.date | None:
        return next((day for y, day, _late in self.filed_reports if y == year), None)

    def filed_in_time(self, year: int) -> bool:
        return any(y == year and not late for y, _day, late in self.filed_reports)

    def sponsor_reviewed(self, year: int) -> dt.date | None:
        return next((day for y, day in self.sponsor_reviews if y == year), None)

    def violation(self, violation_id: str) -> Violation | None:
        return next((v for v in self.violations if v.violation_id == violation_id), None)

    def rectification(self, rectification_id: str) -> Rectification | None:
        return next(
            (r for r in self.rectifications if r.rectification_id == rectification_id), None
        )

    def listing(self, listing_id: str) -> Listing | None:
        return next((x for x in self.listings if x.listing_id == listing_id), None)

    def open_listing(self, credit_list: CreditList) -> Listing | None:
        return next((x for x in self.listings if x.list == credit_list and x.is_open), None)

    def has_id(self, some_id: str) -> bool:
        """True when any record of the file already uses this id (ids are never reused)."""
        return some_id in {
            *(v.violation_id for v in self.violations),
            *(r.rectification_id for r in self.rectifications),
            *(p.penalty_id for p in self.penalties),
            *(x.listing_id for x in self.listings),
            *(i.inspection_id for i in self.inspections),
            *(g.evaluation_id for g in self.grades),
            *(c.commendation_id for c in self.commendations),
            *(p.project_id for p in self.projects),
            *(e.evaluation_id for e in self.performance),
            *(f.evaluation_id for f in self.follow_ups),
        }


def evolve(state: CreditFile | None, event: SupervisionEvent) -> CreditFile:
    """Apply one event; a credit file opens with its first event of any kind."""
    return _APPLY[type(event)](state or CreditFile(uscc=event.uscc), event)


def _on_violation(file: CreditFile, event: ViolationRecorded) -> CreditFile:
    return replace(file, violations=(*file.violations, violation_of(event)))


def _on_rectification_ordered(file: CreditFile, event: RectificationOrdered) -> CreditFile:
    return replace(file, rectifications=(*file.rectifications, rectification_of(event)))


def _on_rectification_confirmed(file: CreditFile, event: RectificationConfirmed) -> CreditFile:
    file = _update_rectification(
        file,
        event.rectification_id,
        status="confirmed",
        confirmed_on=event.confirmed_on,
        verification=event.verification,
    )
    return _mark_rectified(file, event.rectification_id)


def _on_rectification_overdue(file: CreditFile, event: RectificationOverdue) -> CreditFile:
    return _update_rectification(
        file, event.rectification_id, status="overdue", overdue_on=event.overdue_on
    )


def _on_penalty(file: CreditFile, event: PenaltyImposed) -> CreditFile:
    return replace(file, penalties=(*file.penalties, penalty_of(event)))


def _on_listed(file: CreditFile, event: AgencyListed) -> CreditFile:
    return replace(file, listings=(*file.listings, listing_of(event)))


def _on_clock_restarted(file: CreditFile, event: ListingClockRestarted) -> CreditFile:
    listing = _existing_listing(file, event.listing_id)
    cause = cause_of(listing.list, event.ground, event.cause_ref, event.restarted_on)
    restarted = replace(listing, clock_from=event.restarted_on, causes=(*listing.causes, cause))
    return _replace_listing(file, restarted)


def _on_delisted(file: CreditFile, event: AgencyDelisted) -> CreditFile:
    listing = _existing_listing(file, event.listing_id)
    removed = replace(
        listing,
        removed_on=event.removed_on,
        removal_reason=event.reason,
        removal_detail=event.detail,
    )
    return _replace_listing(file, removed)


def _on_inspection(file: CreditFile, event: AnnualInspectionConcluded) -> CreditFile:
    file = replace(file, inspections=(*file.inspections, inspection_of(event)))
    if event.conclusion == "not_filed":
        return file
    # A late annual report puts right the listing for not filing that year.
    for earlier in file.inspections:
        if earlier.year == event.year and earlier.conclusion == "not_filed":
            file = _mark_rectified(file, earlier.inspection_id)
    if event.year in file.overdue_reports:
        file = _mark_rectified(file, report_cause(file.uscc, event.year))
    return file


def _on_report_overdue(file: CreditFile, event: AnnualReportOverdue) -> CreditFile:
    return replace(file, overdue_reports=(*file.overdue_reports, event.year))


def _on_sponsor_review(file: CreditFile, event: AnnualReportPreliminarilyReviewed) -> CreditFile:
    reviewed = (event.year, event.reviewed_on)
    return replace(file, sponsor_reviews=(*file.sponsor_reviews, reviewed))


def _on_report_filed(file: CreditFile, event: AnnualReportFiled) -> CreditFile:
    filed = (event.year, event.filed_on, event.late)
    return replace(file, filed_reports=(*file.filed_reports, filed))


def _on_grade(file: CreditFile, event: EvaluationGradeAwarded) -> CreditFile:
    grade = Grade(
        event.evaluation_id, event.grade, event.announced_on, event.valid_from, event.valid_to
    )
    return replace(file, grades=(*file.grades, grade))


def _on_commendation(file: CreditFile, event: CommendationRecorded) -> CreditFile:
    commendation = Commendation(
        event.commendation_id,
        event.title,
        event.awarding_body,
        event.document_number,
        event.awarded_on,
    )
    return replace(file, commendations=(*file.commendations, commendation))


def _on_project(file: CreditFile, event: GovernmentProjectRecorded) -> CreditFile:
    project = GovernmentProject(
        event.project_id,
        event.name,
        event.purchaser,
        Decimal(event.amount_yuan),
        event.start_on,
        event.end_on,
    )
    return replace(file, projects=(*file.projects, project))


def _on_performance(file: CreditFile, event: ProjectPerformanceEvaluated) -> CreditFile:
    evaluation = PerformanceEvaluation(
        event.evaluation_id,
        event.project_id,
        event.project_name,
        Decimal(event.score),
        event.conclusion,
        event.evaluator,
        event.evaluated_on,
    )
    return replace(file, performance=(*file.performance, evaluation))


def _on_follow_up(file: CreditFile, event: FollowUpEvaluationRecorded) -> CreditFile:
    follow_up = FollowUp(
        event.evaluation_id, event.base_id, event.findings, event.conclusion, event.evaluated_on
    )
    return replace(file, follow_ups=(*file.follow_ups, follow_up))


_APPLY: dict[type, Callable[[CreditFile, Any], CreditFile]] = exhaustive(
    SupervisionEvent,
    {
        ViolationRecorded: _on_violation,
        RectificationOrdered: _on_rectification_ordered,
        RectificationConfirmed: _on_rectification_confirmed,
        RectificationOverdue: _on_rectification_overdue,
        PenaltyImposed: _on_penalty,
        AgencyListed: _on_listed,
        ListingClockRestarted: _on_clock_restarted,
        AgencyDelisted: _on_delisted,
        AnnualInspectionConcluded: _on_inspection,
        AnnualReportOverdue: _on_report_overdue,
        AnnualReportPreliminarilyReviewed: _on_sponsor_review,
        AnnualReportFiled: _on_report_filed,
        EvaluationGradeAwarded: _on_grade,
        CommendationRecorded: _on_commendation,
        GovernmentProjectRecorded: _on_project,
        ProjectPerformanceEvaluated: _on_performance,
        FollowUpEvaluationRecorded: _on_follow_up,
    },
)


def fold(events: Iterable[SupervisionEvent], state: CreditFile | None = None) -> CreditFile | None:
    for event in events:
        state = evolve(state, event)
    return state


def _existing_listing(file: CreditFile, listing_id: str) -> Listing:
    listing = file.listing(listing_id)
    return present(
        listing, EventOutOfOrder(f"listing {listing_id} of {file.uscc} was never opened")
    )


def _replace_listing(file: CreditFile, new: Listing) -> CreditFile:
    listings = tuple(new if x.listing_id == new.listing_id else x for x in file.listings)
    return replace(file, listings=listings)


def _update_rectification(file: CreditFile, rectification_id: str, **changes: object) -> CreditFile:
    if file.rectification(rectification_id) is None:
        raise EventOutOfOrder(f"rectification {rectification_id} of {file.uscc} never ordered")
    rectifications = tuple(
        replace(r, **changes) if r.rectification_id == rectification_id else r  # type: ignore[arg-type]
        for r in file.rectifications
    )
    return replace(file, rectifications=rectifications)


def _mark_rectified(file: CreditFile, cause_ref: str) -> CreditFile:
    listings = tuple(
        replace(
            x,
            causes=tuple(
                replace(c, rectified=True) if c.cause_ref == cause_ref else c for c in x.causes
            ),
        )
        if x.is_open
        else x
        for x in file.listings
    )
    return replace(file, listings=listings)
