"""Half-year figures from facts that arrive out of order; as-of by recorded time."""

from __future__ import annotations

import datetime as dt
import random

from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg

from services.reporting.domain.periods import Period, report_period
from services.reporting.domain.reports import Figures, coverage, half_year_figures
from services.reporting.domain.state import CityState, fold
from tests.reporting.builders import agency, base, fact, started

D = dt.date


def figures(state: CityState, period: Period, unit: str | None) -> Figures:
    """A unit's row of the half-year report, or the city's."""
    return half_year_figures(state, period, unit)[unit or "city"]


def history() -> list:  # type: ignore[type-arg]
    return [
        base("b1", "erqi", D(2020, 1, 5)),
        base("b2", "erqi", D(2020, 2, 5), offices=2),  # below the hardware standard
        agency("u1", "erqi", D(2019, 12, 1)),
        agency("u2", "erqi", D(2020, 3, 1), target_groups=["children"]),
        started("b1", "u1", D(2020, 2, 1)),
        started("b1", "u2", D(2020, 3, 2)),
        fact(
            inc.SupportRecorded(
                incubation_id="inc-b1-u1",
                uscc="u1",
                base_id="b1",
                support_type="funding",
                funding_type="seed_fund",
                amount_yuan="0.10",
                description="种子基金",
                given_on=D(2020, 4, 1),
            ),
            D(2020, 4, 1),
        ),
        fact(
            inc.SupportRecorded(
                incubation_id="inc-b1-u2",
                uscc="u2",
                base_id="b1",
                support_type="funding",
                funding_type="new_kind_added_later",
                amount_yuan="0.20",
                description="新类型",
                given_on=D(2020, 7, 1),  # the second half
            ),
            D(2020, 7, 1),
        ),
        fact(
            inc.AgencyGraduated(
                incubation_id="inc-b1-u1",
                base_id="b1",
                uscc="u1",
                graduated_on=D(2020, 6, 30),
                assessment_summary="合格",
                office_id="1",
            ),
            D(2020, 6, 30),
        ),
        # Backdated: happened on 2020-06-01, recorded on 2020-08-01.
        fact(
            reg.AgencySuspended(uscc="u2", until=None, reason="整改"), D(2020, 6, 1), D(2020, 8, 1)
        ),
    ]


def test_half_year_figures_do_not_depend_on_arrival_order() -> None:
    facts = history()
    shuffled = facts[:]
    random.Random(7).shuffle(shuffled)
    mid = report_period(2020, "mid_year")
    row = figures(fold(shuffled), mid, "erqi")
    assert row == figures(fold(facts), mid, "erqi")
    assert (row["bases_operating"], row["bases_meeting_standard"], row["bases_below_standard"]) == (
        2,
        1,
        1,
    )
    assert (row["agencies_registered"], row["agencies_new"], row["agencies_suspended"]) == (2, 1, 1)
    assert (row["agencies_incubating"], row["agencies_graduated"]) == (1, 1)
    assert row["funding_total_yuan"] == "0.10" and row["funding_seed_fund_yuan"] == "0.10"
    year = figures(fold(facts), report_period(2020, "year_end"), None)
    assert year["funding_total_yuan"] == "0.30" and year["funding_other_yuan"] == "0.20"
    assert figures(fold(facts), mid, "jinshui")["agencies_registered"] == 0


def test_as_recorded_on_a_day_excludes_later_backdated_facts() -> None:
    cutoff = dt.datetime(2020, 7, 5, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    as_submitted = [f for f in history() if f.recorded_at <= cutoff]
    row = figures(fold(as_submitted), report_period(2020, "mid_year"), "erqi")
    assert row["agencies_suspended"] == 0 and row["agencies_active"] == 2


def test_coverage_counts_live_agencies_by_group_and_field() -> None:
    rows = coverage(fold(history()), ["erqi"])
    children = next(r for r in rows if r["item"] == "children")
    elderly = next(r for r in rows if r["item"] == "elderly")
    assert (children["agencies"], elderly["agencies"]) == (1, 1)
    community = next(r for r in rows if r["item"] == "community_service")
    assert community["agencies"] == 2 and community["unit_name"] == "二七区"
