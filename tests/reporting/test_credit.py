"""Credit lists: intervals with dates; a repeated ground restarts the 2-year escalation clock."""

from __future__ import annotations

import datetime as dt

from socialwork_contracts import supervision as sup

from services.reporting.domain.reports import credit_listings
from services.reporting.domain.state import AgencyView, CityState, Listing, fold
from tests.reporting.builders import agency, fact

D = dt.date


def _inputs(state: CityState) -> tuple[list[Listing], dict[str, AgencyView]]:
    return list(state.listings.values()), state.agencies


def listed(day: dt.date) -> sup.AgencyListed:
    return sup.AgencyListed(
        listing_id="l1",
        uscc="u1",
        list="abnormal",
        ground="unreachable",
        legal_basis="办法",
        listed_on=day,
    )


def test_escalation_date_follows_the_clock_and_removed_listings_are_optional() -> None:
    facts = [agency("u1", "erqi", D(2019, 1, 1)), fact(listed(D(2020, 3, 1)), D(2020, 3, 1))]
    (row,) = credit_listings(*_inputs(fold(facts)), include_removed=False)
    assert (row["escalation_due_on"], row["unit_name"]) == ("2022-03-01", "二七区")
    restarted = sup.ListingClockRestarted(
        listing_id="l1", uscc="u1", list="abnormal", ground="other", restarted_on=D(2021, 1, 5)
    )
    facts.append(fact(restarted, D(2021, 1, 5)))
    (row,) = credit_listings(*_inputs(fold(facts)), include_removed=False)
    assert row["escalation_due_on"] == "2023-01-05"
    removed = sup.AgencyDelisted(
        listing_id="l1", uscc="u1", list="abnormal", reason="rectification_verified",
        removed_on=D(2021, 2, 1),
    )  # fmt: skip
    facts.append(fact(removed, D(2021, 2, 1)))
    assert credit_listings(*_inputs(fold(facts)), include_removed=False) == []
    (row,) = credit_listings(*_inputs(fold(facts)), include_removed=True)
    assert row["removed_on"] == "2021-02-01" and row["escalation_due_on"] is None
