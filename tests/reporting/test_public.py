"""What the public channel lets out (issue 11 §5): pure, from facts."""

from __future__ import annotations

import datetime as dt

from socialwork_contracts import incubation as inc
from socialwork_contracts import supervision as sup

from services.reporting.domain import public
from tests.reporting.builders import agency, base, fact, started

D = dt.date
GROUP = "6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def listed(listing_id: str, day: dt.date) -> sup.AgencyListed:
    return sup.AgencyListed(
        listing_id=listing_id,
        uscc="u1",
        list="serious",
        ground="revoked",
        detail="内部说明",
        legal_basis="第十四条",
        listed_on=day,
    )


def test_a_removed_listing_is_not_shown_and_no_detail_ever_is() -> None:
    delisted = sup.AgencyDelisted(
        listing_id="l1", uscc="u1", list="serious", reason="other", removed_on=D(2021, 1, 1)
    )
    state = public.fold_public(
        [
            agency("u1", "erqi", D(2019, 1, 1)),
            fact(listed("l1", D(2020, 1, 1)), D(2020, 1, 1)),
            fact(delisted, D(2021, 1, 1)),
            fact(listed("l2", D(2021, 6, 1)), D(2021, 6, 1)),
        ]
    )
    [row] = public.credit_lists(state)
    assert (row["list"], row["ground"], row["listed_on"]) == (
        "严重违法失信名单",
        "被撤销登记",
        D(2021, 6, 1),
    )
    assert "内部说明" not in str(row)


def test_a_grade_past_its_validity_reads_expired() -> None:
    grade = sup.EvaluationGradeAwarded(
        evaluation_id="g",
        uscc="u1",
        grade=4,
        announced_on=D(2019, 1, 1),
        valid_from=D(2019, 1, 1),
        valid_to=D(2023, 12, 31),
    )
    state = public.fold_public([agency("u1", "erqi", D(2018, 1, 1)), fact(grade, D(2019, 1, 1))])
    assert public.grades(state, D(2023, 12, 31))[0]["status"] == "有效"
    assert public.grades(state, D(2024, 1, 1))[0]["status"] == "已过期"


def test_a_group_in_preparation_is_shown_by_name_without_a_code() -> None:
    applied = inc.ApplicationSubmitted(
        incubation_id=f"inc-b1-{GROUP}",
        base_id="b1",
        call_id="c1",
        uscc=GROUP,
        agency_name="惠民社会工作服务中心（筹）",
        local=True,
        submitted_on=D(2023, 4, 10),
    )
    state = public.fold_public(
        [
            base("b1", "jinshui", D(2023, 1, 1)),
            fact(applied, D(2023, 4, 10)),
            started("b1", GROUP, D(2023, 7, 3)),
        ]
    )
    [row] = public.admitted(state)
    assert (row["agency_name"], row["uscc"], row["status"]) == (
        "惠民社会工作服务中心（筹）",
        None,
        "在孵",
    )


def test_a_grade_is_suspended_while_on_the_serious_list() -> None:
    grade = sup.EvaluationGradeAwarded(
        evaluation_id="g",
        uscc="u1",
        grade=3,
        announced_on=D(2023, 11, 15),
        valid_from=D(2023, 11, 15),
        valid_to=D(2028, 11, 14),
    )
    facts = [agency("u1", "erqi", D(2018, 1, 1)), fact(grade, D(2023, 11, 15))]
    assert public.grades(public.fold_public(facts), D(2024, 8, 1))[0]["status"] == "有效"
    listed_state = public.fold_public([*facts, fact(listed("l1", D(2024, 7, 1)), D(2024, 7, 1))])
    assert public.grades(listed_state, D(2024, 8, 1))[0]["status"] == "暂停（列入严重违法失信名单）"
