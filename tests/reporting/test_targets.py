"""The four targets of guidance §3, on both sides of their boundaries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialwork_contracts import registry as reg

from services.reporting.domain.state import fold
from services.reporting.domain.targets import TargetOptions, targets
from tests.reporting.builders import agency, base, fact, started, terminated

D = dt.date


def by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in result["targets"]}


def test_a_base_needs_three_local_agencies_before_its_first_anniversary() -> None:
    facts = [
        base("b1", "zhongyuan", D(2019, 3, 15)),
        started("b1", "u1", D(2019, 4, 1)),
        started("b1", "u2", D(2019, 5, 1)),
        started("b1", "u9", D(2019, 5, 2), local=False),  # not local: does not count
        started("b1", "u3", D(2020, 3, 15)),  # on the anniversary: one day late
    ]
    late = by_id(targets(fold(facts), D(2020, 6, 1), TargetOptions()))
    row = late["base_local_incubation"]["bases"][0]
    assert (row["local_agencies"], row["missing"], row["status"]) == (2, 1, "missed")
    assert row["window_end"] == "2020-03-14"

    facts[-1] = started("b1", "u3", D(2020, 3, 14))  # the last day of the year
    met = by_id(targets(fold(facts), D(2020, 6, 1), TargetOptions()))
    assert met["base_local_incubation"]["bases"][0]["status"] == "met"
    early = by_id(targets(fold(facts[:2]), D(2019, 6, 1), TargetOptions()))
    assert early["base_local_incubation"]["bases"][0]["status"] == "in_progress"


def test_district_target_counts_bases_by_the_end_of_2020_and_the_airport_zone_is_optional() -> None:
    units = ["zhongyuan", "erqi", "guancheng", "jinshui", "shangjie", "huiji", "zhengdong",
             "jingkai", "gaoxin"]  # fmt: skip
    facts = [base(f"b-{u}", u, D(2020, 12, 31)) for u in units]
    facts.append(base("b-late", "hangkonggang", D(2021, 1, 1)))
    with_airport = by_id(targets(fold(facts), D(2021, 6, 1), TargetOptions()))["district_bases"]
    assert (with_airport["achieved"], with_airport["required"]) == (9, 10)
    assert with_airport["status"] == "missed"
    assert with_airport["missing"] == ["郑州航空港经济综合实验区"]
    without = by_id(targets(fold(facts), D(2021, 6, 1), TargetOptions(count_airport_zone=False)))
    assert without["district_bases"]["status"] == "met"
    assert without["district_bases"]["required"] == 9


def test_city_agencies_counts_live_registrations_on_the_deadline() -> None:
    facts = [agency(f"a{i}", "jinshui", D(2020, 1, 1)) for i in range(100)]
    facts.append(fact(reg.AgencyDeregistered(uscc="a0", reason="解散"), D(2020, 12, 31)))
    missed = by_id(targets(fold(facts), D(2021, 1, 1), TargetOptions()))["city_agencies"]
    assert (missed["achieved"], missed["missing_count"], missed["status"]) == (99, 1, "missed")
    facts[-1] = fact(reg.AgencyDeregistered(uscc="a0", reason="解散"), D(2021, 1, 1))
    met = by_id(targets(fold(facts), D(2021, 2, 1), TargetOptions()))["city_agencies"]
    assert (met["achieved"], met["status"]) == (100, "met")


def test_county_target_and_full_coverage_by_2025() -> None:
    counties = ["gongyi", "xingyang", "xinmi", "xinzheng", "dengfeng"]
    facts = [base(f"b-{u}", u, D(2024, 1, 1)) for u in counties]
    result = by_id(targets(fold(facts), D(2025, 1, 1), TargetOptions()))
    assert result["county_bases"]["status"] == "in_progress"
    assert result["county_bases"]["missing"] == ["中牟县"]
    assert result["all_units_covered"]["achieved"] == 5


def local_row(facts: list[Any], as_of: dt.date) -> dict[str, Any]:
    rows = by_id(targets(fold(facts), as_of, TargetOptions()))["base_local_incubation"]["bases"]
    assert len(rows) == 1
    return dict(rows[0])


def test_a_city_level_bases_locality_is_the_whole_city() -> None:
    """domain.md target 2: "local" is the base's unit, or the whole city for a city-level base;
    the stays below were recorded as not local (a unit other than the base's)."""
    facts = [
        base("c1", "zhengdong", D(2019, 3, 15), level="city"),
        *(started("c1", u, D(2019, 4, 1), local=False) for u in ("u1", "u2", "u3")),
    ]
    assert local_row(facts, D(2020, 6, 1))["local_agencies"] == 3
    facts[0] = base("c1", "zhengdong", D(2019, 3, 15), level="county")
    assert local_row(facts, D(2020, 6, 1))["local_agencies"] == 0


def test_a_stay_that_ended_within_the_minimum_does_not_count() -> None:
    """Default minimum 30 days (docs/reporting.md): 29 days does not count, 30 does."""
    facts = [
        base("b1", "zhongyuan", D(2019, 3, 15)),
        started("b1", "u1", D(2019, 4, 1)),
        started("b1", "u2", D(2019, 4, 1)),
        terminated("b1", "u2", D(2019, 4, 30)),  # 29 days after move-in
        started("b1", "u3", D(2019, 4, 1)),
        terminated("b1", "u3", D(2019, 5, 1)),  # 30 days
    ]
    assert local_row(facts, D(2020, 6, 1))["local_agencies"] == 2
    # Before it ended, the short stay still counted: the figure as of a day is what was known.
    assert local_row(facts, D(2019, 4, 20))["local_agencies"] == 3


def test_the_hundred_agencies_are_service_agencies_and_associations_a_figure_apart() -> None:
    facts = [agency(f"a{i}", "jinshui", D(2020, 1, 1)) for i in range(99)]
    facts += [agency(f"s{i}", "jinshui", D(2020, 1, 1), kind="association") for i in range(2)]
    result = by_id(targets(fold(facts), D(2021, 1, 1), TargetOptions()))["city_agencies"]
    assert (result["achieved"], result["associations"], result["status"]) == (99, 2, "missed")


def test_agency_coverage_per_unit_beside_base_coverage() -> None:
    """Target 4: every unit has a base, and 社工机构 cover every unit — two figures."""
    facts = [base("b-gongyi", "gongyi", D(2024, 1, 1)), agency("a1", "xinmi", D(2024, 2, 1))]
    facts.append(fact(reg.AgencyRegistrationRevoked(uscc="a1", reason="撤销"), D(2024, 3, 1)))
    facts.append(agency("a2", "zhongmou", D(2024, 2, 1)))
    result = by_id(targets(fold(facts), D(2025, 1, 1), TargetOptions()))
    bases = {r["reporting_unit"]: r["met"] for r in result["all_units_covered"]["units"]}
    agencies = {r["reporting_unit"]: r for r in result["agencies_cover_all_units"]["units"]}
    assert bases["gongyi"] and not bases["zhongmou"]
    assert agencies["zhongmou"]["live_agencies"] == 1 and agencies["zhongmou"]["met"]
    assert agencies["xinmi"]["live_agencies"] == 0 and not agencies["xinmi"]["met"]  # revoked
    assert not agencies["gongyi"]["met"]
    assert result["agencies_cover_all_units"]["achieved"] == 1


def test_on_the_deadline_day_a_missing_target_is_missed() -> None:
    """issue 11 §7: the year-end report as of the deadline is the moment of judgement."""
    facts = [base("b-zy", "zhongyuan", D(2019, 1, 1))]
    on_deadline = by_id(targets(fold(facts), D(2020, 12, 31), TargetOptions()))
    assert on_deadline["district_bases"]["status"] == "missed"
    before = by_id(targets(fold(facts), D(2020, 12, 30), TargetOptions()))
    assert before["district_bases"]["status"] == "in_progress"


def test_a_base_still_within_its_first_year_is_pending_not_a_gap() -> None:
    facts = [
        base("b-old", "zhongyuan", D(2019, 3, 15)),  # window ended 2020-03-14, nobody came
        base("b-new", "erqi", D(2020, 10, 1)),  # window ends 2021-09-30
    ]
    result = by_id(targets(fold(facts), D(2020, 12, 31), TargetOptions()))
    card = result["base_local_incubation"]
    assert card["status"] == "missed"
    assert card["missing"] == ["基地b-old"]
    assert card["pending"] == ["基地b-new"]
    assert "2020-12-31" in card["title"]
