"""Entry and exit rules of the credit lists: a case on each side of every boundary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from socialwork_contracts.supervision import AgencyDelisted, AgencyListed, ListingClockRestarted

from services.supervision.domain import rules
from services.supervision.domain.commands import (
    ConfirmRectification,
    DelistAgency,
    EscalateListing,
    ExpireListing,
    ImposePenalty,
    ListAgency,
    ListForRegistrationSanction,
    MarkRectificationOverdue,
    OrderRectification,
    RecordViolation,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.policy import credit_policy
from tests.domain_spec import Then, event_types
from tests.supervision.conftest import USCC, CreditFileGiven

D = dt.date
POLICY = credit_policy(D(2024, 1, 1))


def penalty(
    pid: str, kind: str, on: dt.date, amount: str | None = None, until: dt.date | None = None
) -> ImposePenalty:
    return ImposePenalty.model_validate(
        {
            "uscc": USCC,
            "penalty_id": pid,
            "kind": kind,
            "amount_yuan": amount,
            "suspended_until": until,
            "document_number": f"郑民罚〔{on.year}〕{pid}号",
            "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条",
            "deciding_department": "郑州市民政局",
            "decided_on": on,
        }
    )


def violation_and_order(given: CreditFileGiven, deadline: dt.date) -> None:
    given.when(
        RecordViolation(
            uscc=USCC,
            violation_id="v1",
            category="office_subletting",
            severity="serious",
            facts="将302办公室转借他人",
            evidence_ref="JC-2024-01",
            found_on=D(2024, 4, 8),
        )
    )
    given.when(
        OrderRectification(
            uscc=USCC,
            rectification_id="r1",
            violation_id="v1",
            requirements="收回办公室",
            deadline=deadline,
            ordered_on=D(2024, 4, 9),
        )
    )


def open_listing(given: CreditFileGiven, kind: str = "abnormal") -> str:
    assert given.state is not None
    listing = given.state.open_listing(kind)  # type: ignore[arg-type]
    assert listing is not None
    return listing.listing_id


# -- entry: penalties ------------------------------------------------------------------------


def test_a_warning_lists_on_the_abnormal_list(given: CreditFileGiven) -> None:
    events = given.when(penalty("p1", "warning", D(2024, 5, 20))).events
    assert event_types(events) == ["PenaltyImposed", "AgencyListed"]
    listed = events[1]
    assert isinstance(listed, AgencyListed)
    assert (listed.list, listed.ground, listed.listed_on) == (
        "abnormal",
        "warning_or_small_fine",
        D(2024, 5, 20),
    )
    assert listed.cause_ref == "p1"
    assert listed.listing_id == rules.derived_listing_id("p1", "abnormal")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("49999.99", ("abnormal", "warning_or_small_fine")), ("50000", ("serious", "large_fine"))],
)
def test_fine_threshold(given: CreditFileGiven, amount: str, expected: tuple[str, str]) -> None:
    events = given.when(penalty("p1", "fine", D(2024, 5, 20), amount)).events
    listed = [e for e in events if isinstance(e, AgencyListed)]
    assert [(x.list, x.ground) for x in listed] == [expected]


@pytest.mark.parametrize(
    ("kind", "ground"), [("suspension", "suspension"), ("revocation", "revoked")]
)
def test_suspension_and_revocation_list_on_the_serious_list(
    given: CreditFileGiven, kind: str, ground: str
) -> None:
    until = D(2024, 8, 31) if kind == "suspension" else None
    events = given.when(penalty("p1", kind, D(2024, 5, 20), until=until)).events
    listed = [e for e in events if isinstance(e, AgencyListed)]
    assert [(x.list, x.ground) for x in listed] == [("serious", ground)]


def test_confiscation_alone_lists_nowhere(given: CreditFileGiven) -> None:
    events = given.when(penalty("p1", "confiscation", D(2024, 5, 20), "1200.50")).events
    assert event_types(events) == ["PenaltyImposed"]
    assert events[0].amount_yuan == "1200.50"


@pytest.mark.parametrize(
    ("second", "serious"),
    [(D(2024, 5, 20), True), (D(2024, 5, 21), False)],  # 3 years to the day / a day outside
)
def test_two_small_penalties_within_three_years(
    given: CreditFileGiven, second: dt.date, serious: bool
) -> None:
    given.when(penalty("p1", "warning", D(2021, 5, 20)))
    # the first abnormal listing ended by itself long before
    listing = open_listing(given)
    given.when(ExpireListing(uscc=USCC, listing_id=listing, removed_on=D(2021, 11, 20)))
    events = given.when(penalty("p2", "fine", second, "3000")).events
    serious_listings = [e for e in events if isinstance(e, AgencyListed) and e.list == "serious"]
    assert bool(serious_listings) is serious
    if serious:
        assert serious_listings[0].ground == "repeated_penalties"


def test_a_new_ground_while_listed_restarts_the_clock(given: CreditFileGiven) -> None:
    given.when(penalty("p1", "warning", D(2024, 1, 10)))
    events = given.when(penalty("p2", "warning", D(2024, 3, 1))).events
    restarted = [e for e in events if isinstance(e, ListingClockRestarted)]
    assert len(restarted) == 1 and restarted[0].restarted_on == D(2024, 3, 1)
    assert given.state is not None
    listing = given.state.open_listing("abnormal")
    assert listing is not None and listing.clock_from == D(2024, 3, 1)
    assert rules.auto_exit_on(listing, POLICY) == D(2024, 9, 1)  # from the restart
    assert len([x for x in given.state.listings if x.list == "abnormal"]) == 1


# -- exit: six months -------------------------------------------------------------------------


def test_six_month_automatic_exit_boundary(given: CreditFileGiven) -> None:
    given.when(penalty("p1", "warning", D(2024, 1, 15)))
    listing_id = open_listing(given)
    given.when(
        ExpireListing(uscc=USCC, listing_id=listing_id, removed_on=D(2024, 7, 14))
    ).then_refused()  # 5 months 29 days
    events = given.when(
        ExpireListing(uscc=USCC, listing_id=listing_id, removed_on=D(2024, 7, 15))
    ).events
    delisted = events[0]
    assert isinstance(delisted, AgencyDelisted)
    assert (delisted.reason, delisted.removed_on) == ("six_months_elapsed", D(2024, 7, 15))
    assert given.state is not None and given.state.open_listing("abnormal") is None


def test_a_listing_awaiting_rectification_never_ends_by_itself(given: CreditFileGiven) -> None:
    violation_and_order(given, D(2024, 4, 30))
    given.when(MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 5, 1)))
    assert given.state is not None
    listing = given.state.open_listing("abnormal")
    assert listing is not None and rules.auto_exit_on(listing, POLICY) is None
    assert rules.escalation_on(listing, POLICY) == D(2026, 5, 1)


# -- overdue and rectification ----------------------------------------------------------------


def test_overdue_only_the_day_after_the_deadline(given: CreditFileGiven) -> None:
    violation_and_order(given, D(2024, 4, 30))
    given.when(
        MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 4, 30))
    ).then_rejected()
    events = given.when(
        MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 5, 1))
    ).events
    assert event_types(events) == ["RectificationOverdue", "AgencyListed"]
    assert isinstance(events[1], AgencyListed) and events[1].ground == "rectification_overdue"
    given.when(
        MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 5, 1))
    ).then_refused()  # a second run finds it overdue already


def test_a_deadline_on_a_holiday_moves_to_the_next_working_day(given: CreditFileGiven) -> None:
    """Civil Code §203: due on National Day 2024 -> last day 2024-10-08, overdue on 10-09."""
    violation_and_order(given, D(2024, 10, 1))
    for early in (D(2024, 10, 2), D(2024, 10, 8)):
        given.when(
            MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=early)
        ).then_rejected()
    events = given.when(
        MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 10, 9))
    ).events
    assert event_types(events) == ["RectificationOverdue", "AgencyListed"]


def test_confirmed_rectification_ends_its_listing(given: CreditFileGiven) -> None:
    violation_and_order(given, D(2024, 4, 30))
    given.when(MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 5, 1)))
    events = given.when(
        ConfirmRectification(
            uscc=USCC, rectification_id="r1", verification="现场核查", confirmed_on=D(2024, 6, 3)
        )
    ).events
    assert event_types(events) == ["RectificationConfirmed", "AgencyDelisted"]
    assert isinstance(events[1], AgencyDelisted) and events[1].reason == "rectification_verified"


def test_confirmed_rectification_with_a_recent_warning_waits_for_six_months(
    given: CreditFileGiven,
) -> None:
    violation_and_order(given, D(2024, 4, 30))
    given.when(MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 5, 1)))
    given.when(penalty("p1", "warning", D(2024, 5, 20)))
    events = given.when(
        ConfirmRectification(
            uscc=USCC, rectification_id="r1", verification="现场核查", confirmed_on=D(2024, 6, 3)
        )
    ).events
    assert event_types(events) == ["RectificationConfirmed"]
    assert given.state is not None
    listing = given.state.open_listing("abnormal")
    assert listing is not None and rules.auto_exit_on(listing, POLICY) == D(2024, 11, 20)


# -- escalation -----------------------------------------------------------------------------


def test_two_year_escalation_boundary(given: CreditFileGiven) -> None:
    violation_and_order(given, D(2024, 4, 30))
    given.when(MarkRectificationOverdue(uscc=USCC, rectification_id="r1", overdue_on=D(2024, 5, 1)))
    listing_id = open_listing(given)
    given.when(
        EscalateListing(uscc=USCC, listing_id=listing_id, escalated_on=D(2026, 4, 30))
    ).then_refused()  # 2 years minus a day
    events = given.when(
        EscalateListing(uscc=USCC, listing_id=listing_id, escalated_on=D(2026, 5, 1))
    ).events
    assert event_types(events) == ["AgencyDelisted", "AgencyListed"]
    assert isinstance(events[0], AgencyDelisted) and events[0].reason == "escalated_to_serious"
    assert isinstance(events[1], AgencyListed)
    assert (events[1].list, events[1].ground, events[1].cause_ref) == (
        "serious",
        "abnormal_two_years",
        listing_id,
    )


# -- serious list exit ----------------------------------------------------------------------


def test_serious_exit_on_application_after_two_years(given: CreditFileGiven) -> None:
    given.when(penalty("p1", "fine", D(2022, 3, 10), "80000"))
    listing_id = open_listing(given, "serious")

    def apply(on: dt.date) -> Then[CreditFile]:
        return given.when(
            DelistAgency(
                uscc=USCC,
                listing_id=listing_id,
                reason="two_years_no_new_ground",
                detail="申请移出",
                removed_on=on,
            )
        )

    refused = apply(D(2024, 3, 9)).then_rejected()  # 2 years minus a day
    assert refused.violations[0].code == "too_early_to_exit"
    apply(D(2024, 3, 10))
    assert given.state is not None and given.state.open_listing("serious") is None


def test_deregistration_exit_only_for_revoked(given: CreditFileGiven) -> None:
    given.when(penalty("p1", "fine", D(2022, 3, 10), "80000"))
    listing_id = open_listing(given, "serious")
    given.when(
        DelistAgency(
            uscc=USCC,
            listing_id=listing_id,
            reason="deregistration_completed",
            detail="已注销",
            removed_on=D(2022, 6, 1),
        )
    ).then_rejected()


# -- manual grounds -------------------------------------------------------------------------


def test_derived_grounds_cannot_be_typed_in(given: CreditFileGiven) -> None:
    refused = given.when(
        ListAgency(
            uscc=USCC,
            listing_id="l1",
            list="abnormal",
            ground="warning_or_small_fine",
            detail="手工",
            legal_basis="x",
            listed_on=D(2024, 1, 1),
        )
    ).then_rejected()
    assert refused.violations[0].code == "ground_derived_or_unknown"


def test_unreachable_listing_needs_verification_then_ends(given: CreditFileGiven) -> None:
    given.when(
        ListAgency(
            uscc=USCC,
            listing_id="l1",
            list="abnormal",
            ground="unreachable",
            detail="通过登记住所无法联系",
            legal_basis="《社会组织信用信息管理办法》",
            listed_on=D(2024, 1, 1),
        )
    )
    assert given.state is not None
    listing = given.state.open_listing("abnormal")
    assert listing is not None and rules.auto_exit_on(listing, POLICY) is None
    given.when(
        DelistAgency(
            uscc=USCC,
            listing_id="l1",
            reason="rectification_verified",
            detail="已恢复联系",
            removed_on=D(2024, 2, 1),
        )
    )
    assert given.state.open_listing("abnormal") is None


def test_small_penalty_threshold_uses_decimal() -> None:
    assert rules.is_small_penalty("fine", Decimal("49999.99"), POLICY)
    assert not rules.is_small_penalty("fine", Decimal("50000.00"), POLICY)


# -- entry: a sanction recorded in the registry -----------------------------------------------


def sanction(
    kind: str, on: dt.date, document: str | None, cause: str
) -> ListForRegistrationSanction:
    return ListForRegistrationSanction.model_validate(
        {
            "uscc": USCC,
            "kind": kind,
            "decided_on": on,
            "decision_document": document,
            "cause_ref": cause,
        }
    )


@pytest.mark.parametrize(
    ("kind", "ground"), [("revocation", "revoked"), ("suspension", "suspension")]
)
def test_a_registry_sanction_lists_on_the_serious_list(
    given: CreditFileGiven, kind: str, ground: str
) -> None:
    events = given.when(sanction(kind, D(2022, 6, 15), "郑民撤〔2022〕3号", "evt-1")).events
    assert event_types(events) == ["AgencyListed"]
    listed = events[0]
    assert isinstance(listed, AgencyListed)
    assert (listed.list, listed.ground, listed.listed_on, listed.cause_ref) == (
        "serious",
        ground,
        D(2022, 6, 15),
        "evt-1",
    )


def test_the_registrys_echo_of_a_penalty_here_is_declined(given: CreditFileGiven) -> None:
    given.when(penalty("p9", "revocation", D(2022, 8, 1)))
    given.when(sanction("revocation", D(2022, 8, 1), "郑民罚〔2022〕p9号", "evt-2")).then_refused()
    # Another decision (another document, or none) is a new ground: the clock restarts.
    events = given.when(sanction("suspension", D(2022, 9, 1), None, "evt-3")).events
    assert event_types(events) == ["ListingClockRestarted"]
