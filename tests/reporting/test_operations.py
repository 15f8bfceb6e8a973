"""Issue 11's facts in the half-year reports (guidance §6.3): base operation, professional
services delivered and agency development, per unit and citywide, by occurrence and recording."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import supervision as sup

from services.reporting.domain.facts import Fact
from services.reporting.domain.periods import report_period
from services.reporting.domain.reports import FIGURE_COLUMNS, SECTIONS, half_year_figures
from services.reporting.domain.state import fold
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery, render
from tests.reporting.builders import agency, base, fact, started
from tests.reporting.test_reports import figures

D = dt.date
GROUP = "6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"
MID, YEAR = report_period(2024, "mid_year"), report_period(2024, "year_end")


def services(
    record: str, uscc: str, start: dt.date, end: dt.date, **n: Any
) -> inc.ProfessionalServicesRecorded:
    return inc.ProfessionalServicesRecorded(
        incubation_id=f"inc-b1-{uscc}",
        base_id="b1",
        uscc=uscc,
        record_id=record,
        period_start=start,
        period_end=end,
        projects=n.get("projects", 1),
        service_hours=n.get("hours", "10"),
        beneficiaries=n.get("beneficiaries", 20),
        description="服务",
    )


def history() -> list[Fact]:
    staff = [
        inc.BaseStaffRecorded(base_id="b1", full_time=4, qualified=1, counted_on=D(2024, 1, 2)),
        inc.BaseStaffRecorded(base_id="b1", full_time=5, qualified=3, counted_on=D(2024, 6, 30)),
        inc.BaseStaffRecorded(base_id="b1", full_time=6, qualified=2, counted_on=D(2024, 7, 1)),
        inc.BaseStaffRecorded(base_id="b2", full_time=2, qualified=2, counted_on=D(2024, 3, 1)),
    ]
    funds: list[tuple[str, inc.BaseFundingSource, str, dt.date]] = [
        ("f1", "budget", "200000.00", D(2024, 1, 1)),
        ("f2", "other", "30000.50", D(2024, 6, 30)),
        ("f3", "budget", "100000.00", D(2024, 7, 1)),
    ]
    return [
        base("b1", "jinshui", D(2023, 3, 1), offices=4),  # 3 allottable + the shared room
        base("b2", "erqi", D(2023, 5, 1)),
        agency("u1", "jinshui", D(2023, 1, 1)),
        agency("u2", "jinshui", D(2023, 1, 1)),
        started("b1", "u1", D(2023, 7, 3)),
        started("b1", "u2", D(2024, 2, 1)),
        *(fact(s, s.counted_on) for s in staff),
        *(
            fact(
                inc.BaseFundingRecorded(
                    base_id="b1",
                    funding_id=i,
                    source=src,
                    purpose="operation",
                    payer="财政",
                    amount_yuan=amount,
                    received_on=day,
                ),
                day,
            )
            for i, src, amount, day in funds
        ),
        fact(services("s1", "u1", D(2024, 1, 1), D(2024, 3, 31), projects=2), D(2024, 4, 5)),
        fact(services("s2", "u2", D(2024, 4, 1), D(2024, 6, 30), hours="5.5"), D(2024, 7, 5)),
        fact(services("s3", "u1", D(2024, 7, 1), D(2024, 9, 30), beneficiaries=7), D(2024, 10, 5)),
        fact(
            inc.IncubationTermOverrun(
                incubation_id="inc-b1-u1",
                base_id="b1",
                uscc="u1",
                term_end=D(2024, 7, 2),
                overrun_on=D(2024, 7, 3),
            ),
            D(2024, 7, 3),
        ),
        fact(
            inc.IncubationInactivityFlagged(
                incubation_id="inc-b1-u2",
                base_id="b1",
                uscc="u2",
                last_activity_on=D(2024, 2, 1),
                inactive_days=90,
                flagged_on=D(2024, 5, 1),
            ),
            D(2024, 5, 1),
        ),
        fact(
            inc.BaseEvaluated(
                base_id="b1",
                evaluation_id="ev1",
                period_start=D(2023, 1, 1),
                period_end=D(2023, 12, 31),
                offices=3,
                offices_occupied=1,
                incubations_started=1,
                graduations=0,
                terminations=0,
                funding_yuan="0.00",
                training_sessions=0,
                training_hours="0",
                training_attendees=0,
                conclusion="unqualified",
                evaluator="金水区民政局",
                evaluated_on=D(2024, 1, 20),
            ),
            D(2024, 1, 20),
        ),
        fact(
            inc.GroupInPreparationRecorded(
                provisional_id=GROUP,
                base_id="b1",
                name="筹",
                kind="service_agency",
                reporting_unit="jinshui",
                contact_person="赵",
                recorded_on=D(2024, 2, 1),
                register_by=D(2024, 8, 1),
            ),
            D(2024, 2, 1),
        ),
        fact(
            inc.GroupInPreparationRecorded(
                provisional_id="g2",
                base_id="b1",
                name="筹二",
                kind="service_agency",
                reporting_unit="jinshui",
                contact_person="钱",
                recorded_on=D(2024, 3, 1),
                register_by=D(2024, 9, 2),
            ),
            D(2024, 3, 1),
        ),
        fact(
            inc.GroupRegistered(
                provisional_id=GROUP, base_id="b1", uscc="u3", registered_on=D(2024, 8, 1)
            ),
            D(2024, 8, 1),
        ),
        fact(
            inc.GroupRegistrationOverdue(
                provisional_id="g2",
                base_id="b1",
                register_by=D(2024, 9, 2),
                overdue_on=D(2024, 9, 3),
            ),
            D(2024, 9, 3),
        ),
        fact(
            inc.PublicNoticeOpened(
                incubation_id="inc-b1-u2",
                base_id="b1",
                uscc="u2",
                agency_name="机构u2",
                starts_on=D(2024, 1, 10),
                ends_on=D(2024, 1, 16),
            ),
            D(2024, 1, 10),
        ),
        fact(
            inc.AdmissionObjectionRecorded(
                incubation_id="inc-b1-u2",
                base_id="b1",
                uscc="u2",
                objection_id="o1",
                received_on=D(2024, 1, 12),
                summary="异议",
            ),
            D(2024, 1, 12),
        ),
        # Annual reports of working year 2023, due 2024-05-31: u1 on time, u2 late after being
        # flagged overdue; one in erqi's agency never filed.
        fact(
            sup.AnnualReportFiled(
                uscc="u1", year=2023, filed_on=D(2024, 5, 20), deadline=D(2024, 5, 31), late=False
            ),
            D(2024, 5, 20),
        ),
        fact(
            sup.AnnualReportOverdue(
                uscc="u2", year=2023, deadline=D(2024, 5, 31), overdue_on=D(2024, 6, 1)
            ),
            D(2024, 6, 1),
        ),
        fact(
            sup.AnnualReportFiled(
                uscc="u2", year=2023, filed_on=D(2024, 7, 8), deadline=D(2024, 5, 31), late=True
            ),
            D(2024, 7, 8),
        ),
    ]


def pick(row: dict[str, Any], *keys: str) -> tuple[Any, ...]:
    return tuple(row[k] for k in keys)


def test_base_operation_counts_staff_at_the_end_and_funding_by_source() -> None:
    state = fold(history())
    mid = figures(state, MID, "jinshui")
    keys = ("offices_allottable", "offices_occupied", "base_staff_full_time",
            "base_staff_qualified", "base_funding_budget_yuan", "base_funding_other_yuan",
            "base_evaluations", "base_evaluations_unqualified", "stays_past_term",
            "stays_inactive")  # fmt: skip
    assert pick(mid, *keys) == (3, 2, 5, 3, "200000.00", "30000.50", 1, 1, 0, 1)
    year = figures(state, YEAR, "jinshui")
    assert pick(year, *keys) == (3, 2, 6, 2, "300000.00", "30000.50", 1, 1, 1, 1)
    city = figures(state, MID, None)
    assert pick(city, "base_staff_full_time", "base_staff_qualified") == (7, 5)  # b1 + b2


def test_professional_services_count_records_ending_in_the_period() -> None:
    state = fold(history())
    keys = ("services_agencies", "services_projects", "services_hours", "services_beneficiaries")
    assert pick(figures(state, MID, "jinshui"), *keys) == (2, 3, "15.5", 40)
    assert pick(figures(state, YEAR, "jinshui"), *keys) == (2, 4, "25.5", 47)
    assert pick(figures(state, MID, "erqi"), *keys) == (0, 0, "0", 0)


def test_agency_development_counts_assistance_notices_and_annual_reports() -> None:
    state = fold(history())
    keys = ("groups_taken_on", "groups_registered", "groups_overdue", "groups_preparing",
            "public_notices", "objections", "annual_reports_due", "annual_reports_filed",
            "annual_reports_filed_late", "annual_reports_overdue")  # fmt: skip
    assert pick(figures(state, MID, "jinshui"), *keys) == (2, 0, 0, 2, 1, 1, 2, 1, 0, 1)
    assert pick(figures(state, YEAR, "jinshui"), *keys) == (2, 1, 1, 1, 1, 1, 2, 2, 1, 1)


def test_by_recording_a_backdated_fact_is_left_out_until_recorded() -> None:
    # The second quarter's services (period ending 2024-06-30) were recorded on 2024-07-05.
    cutoff = dt.datetime(2024, 7, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    as_recorded = fold([f for f in history() if f.recorded_at <= cutoff])
    by_occurrence = fold(history())
    assert figures(as_recorded, MID, "jinshui")["services_projects"] == 2  # s1 only
    assert figures(by_occurrence, MID, "jinshui")["services_projects"] == 3


def test_a_group_linked_to_its_agency_counts_its_services_once() -> None:
    link = inc.IncubationIdentityLinked(
        incubation_id=f"inc-b1-{GROUP}", base_id="b1", provisional_id=GROUP, uscc="u1",
        linked_on=D(2024, 8, 1),
    )  # fmt: skip
    facts = [
        base("b1", "jinshui", D(2023, 3, 1)),
        fact(services("s9", GROUP, D(2024, 3, 1), D(2024, 3, 31)), D(2024, 4, 1)),
        fact(services("s1", "u1", D(2024, 9, 1), D(2024, 9, 30)), D(2024, 10, 1)),
        fact(link, D(2024, 8, 1)),
    ]
    assert figures(fold(facts), YEAR, "jinshui")["services_agencies"] == 1


def test_a_units_report_gives_its_row_of_the_city_and_the_header_says_what_counts() -> None:
    state = fold(history())
    every = half_year_figures(state, YEAR)
    for unit in ("jinshui", "erqi"):
        assert half_year_figures(state, YEAR, unit) == {unit: every[unit]}
    body = render(
        state, ReportQuery("half_year", YEAR.end, None, None, year=2024, half="year_end"),
        TargetOptions(),
    ).body  # fmt: skip
    sections = {s["key"]: s for s in body["sections"]}
    assert set(sections) == {"base_operation", "agency_development", "professional_services"}
    assert "services_hours" in sections["professional_services"]["columns"]
    columns = {k for k, _ in FIGURE_COLUMNS}
    assert all(set(s["columns"]) <= columns for s in SECTIONS)
    assert body["columns"]["annual_reports_filed_late"] == "其中逾期报送"
