"""The half-year figures of every unit and of the city, read in one pass over each collection
(`reports.half_year_figures`), equal their first definition unit by unit
(tests/reporting/halfyear_oracle.py), byte for byte once JSON-encoded.

The histories are the benchmark's generated ones with what it never makes added: agencies moved
between units, suspended or revoked; facts of agencies and bases never registered (unit
"unknown"); an agency staying at bases of two units; groups in preparation whose stay, funding
and services are relinked to the agency registered from them, registered at a base of another
unit; every kind of issue 11's operation records; follow-ups, serious listings; late facts.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator

import pytest
from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

from benchmarks.history_generator import fact_rows
from services.reporting.domain import reports
from services.reporting.domain.facts import Fact
from services.reporting.domain.periods import end_of_local_day, report_period
from services.reporting.domain.reports import CONCLUSIONS, half_year_figures, unit_ids
from services.reporting.domain.state import CityState, fold
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery, render, render_all
from tests.reporting import halfyear_oracle
from tests.reporting.builders import base, fact

D = dt.date
NOBASE, NOBODY = "base-never-established", "91410100NOBODY0000"  # unit "unknown"
PERIODS = [report_period(2019, "year_end"), report_period(2021, "mid_year")]
PERIODS += [report_period(2023, "year_end"), report_period(2024, "mid_year")]


def generated(total: int, seed: int) -> list[Fact]:
    return [Fact(*row[:10], json.loads(row[10])) for row in fact_rows(total, seed)]


def _day(rng: random.Random) -> dt.date:
    return D(2019, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))


def _late(rng: random.Random, day: dt.date) -> dt.date:
    return day + dt.timedelta(days=rng.choice([0, 0, 0, 45, 400]))


def extras(facts: list[Fact], seed: int) -> Iterator[Fact]:
    """What the generator never makes, on its agencies and bases and on unknown ones."""
    rng = random.Random(seed)
    usccs = sorted({f.uscc for f in facts if f.event_type == "AgencyRegistered" and f.uscc})
    bases = sorted({f.base_id for f in facts if f.event_type == "BaseEstablished" and f.base_id})
    units = unit_ids()
    yield base("base-x", units[3], D(2018, 2, 1))
    closed = inc.BaseClosed(base_id=bases[0], reason="停", closed_on=D(2023, 3, 1))
    yield fact(closed, D(2023, 3, 1))
    for n in range(60):
        agency, day = rng.choice(usccs), _day(rng)
        owner = rng.choice([*bases, NOBASE])
        who = rng.choice([*usccs, NOBODY])
        for event in (
            _agency_change(rng, agency, units),
            *_operations(rng, n, owner, who, day),
            *_supervision(rng, n, who, day),
            *_group(rng, n, owner, rng.choice(bases), agency, day),
        ):
            yield fact(event, day, _late(rng, day))
        # An agency staying at two bases (often of two units) at once.
        for b in (rng.choice(bases), rng.choice([*bases, NOBASE])):
            yield fact(_stay(f"two-{n}-{b}", b, agency, day), day)


def _agency_change(rng: random.Random, uscc: str, units: list[str]) -> DomainEvent:
    match rng.choice(["moved", "moved", "suspended", "revoked"]):
        case "moved":
            return reg.AgencyProfileAmended(
                uscc=uscc, reporting_unit=rng.choice(units), priority=rng.random() < 0.5,
                changed_fields=["reporting_unit"],
            )  # fmt: skip
        case "suspended":
            return reg.AgencySuspended(uscc=uscc, until=None, reason="整改")
        case _:
            return reg.AgencyRegistrationRevoked(uscc=uscc, reason="撤销")


def _stay(incubation: str, base_id: str, uscc: str, day: dt.date) -> inc.IncubationStarted:
    return inc.IncubationStarted(
        incubation_id=incubation, base_id=base_id, agreement_id="agr", uscc=uscc, office_id="1",
        term_start=day, term_end=day + dt.timedelta(days=364), started_on=day, local=False,
        non_local_reason="跨区入孵",
    )  # fmt: skip


def _operations(
    rng: random.Random, n: int, base_id: str, uscc: str, day: dt.date
) -> list[DomainEvent]:
    """One of each kind of issue 11's base and agency records."""
    deadline = D(day.year, 5, 31)
    return [
        inc.BaseStaffRecorded(
            base_id=base_id, full_time=rng.randint(1, 9), qualified=rng.randint(0, 3),
            counted_on=day,
        ),
        inc.BaseFundingRecorded(
            base_id=base_id, funding_id=f"bf-{n}", source=rng.choice(["budget", "other"]),
            purpose="operation", payer="财政", amount_yuan=rng.choice(["0.10", "5", "1200.50"]),
            received_on=day,
        ),
        inc.BaseEvaluated(
            base_id=base_id, evaluation_id=f"ev-{n}", period_start=D(2018, 1, 1),
            period_end=D(2018, 12, 31), offices=3, offices_occupied=1, incubations_started=1,
            graduations=0, terminations=0, funding_yuan="0.00", training_sessions=0,
            training_hours="0", training_attendees=0,
            conclusion=rng.choice(["qualified", "unqualified"]), evaluator="民政局",
            evaluated_on=day,
        ),
        inc.ProfessionalServicesRecorded(
            incubation_id=f"inc-{n}", base_id=base_id, uscc=uscc, record_id=f"s-{n}",
            period_start=day - dt.timedelta(days=30), period_end=day, projects=rng.randint(1, 4),
            service_hours=rng.choice(["10", "2.5", "0.25"]), beneficiaries=rng.randint(1, 50),
            description="服务",
        ),
        inc.IncubationTermOverrun(
            incubation_id=f"inc-{n}", base_id=base_id, uscc=uscc, term_end=day, overrun_on=day
        ),
        inc.IncubationInactivityFlagged(
            incubation_id=f"inc-{n}", base_id=base_id, uscc=uscc, last_activity_on=day,
            inactive_days=90, flagged_on=day,
        ),
        inc.PublicNoticeOpened(
            incubation_id=f"inc-{n}", base_id=base_id, uscc=uscc, agency_name="机构",
            starts_on=day, ends_on=day + dt.timedelta(days=6),
        ),
        inc.AdmissionObjectionRecorded(
            incubation_id=f"inc-{n}", base_id=base_id, uscc=uscc, objection_id=f"o-{n}",
            received_on=day, summary="异议",
        ),
        sup.AnnualReportFiled(
            uscc=uscc, year=day.year - 1, filed_on=day, deadline=deadline, late=day > deadline
        ),
        sup.AnnualReportOverdue(
            uscc=uscc, year=day.year - 2, deadline=deadline, overdue_on=deadline
        ),
        inc.SupportRecorded(
            incubation_id=f"inc-{n}", uscc=uscc, base_id=base_id, support_type="funding",
            funding_type=rng.choice(["seed_fund", "kind_added_later", "other"]),
            amount_yuan=rng.choice(["0.10", "7", "3000.00"]), description="扶持", given_on=day,
        ),
        inc.TrainingDelivered(
            base_id=base_id, session_id=f"t-{n}", title="培训", held_on=day,
            hours=rng.choice(["3.5", "2", "1.25"]), attendees=rng.randint(5, 40), agency_usccs=[],
        ),
    ]  # fmt: skip


def _supervision(rng: random.Random, n: int, uscc: str, day: dt.date) -> list[DomainEvent]:
    return [
        sup.AnnualInspectionConcluded(
            inspection_id=f"i-{n}", uscc=uscc, year=day.year - 1,
            conclusion=rng.choice(CONCLUSIONS)[0],  # type: ignore[arg-type]  # the literals
            concluded_on=day,
        ),
        sup.ViolationRecorded(
            violation_id=f"v-{n}", uscc=uscc, category=rng.choice(["other", "false_information"]),
            severity="minor", facts="检查发现", evidence_ref="证据", found_on=day,
        ),
        sup.RectificationOrdered(
            rectification_id=f"r-{n}", uscc=uscc, violation_id=f"v-{n}", requirements="整改",
            deadline=day + dt.timedelta(days=30), ordered_on=day,
        ),
        sup.AgencyListed(
            listing_id=f"l-{n}", uscc=uscc, list=rng.choice(["abnormal", "serious"]),
            ground="rectification_overdue", legal_basis="办法", listed_on=day,
        ),
        sup.FollowUpEvaluationRecorded(
            evaluation_id=f"fu-{n}", uscc=uscc, base_id=None, findings="跟进",
            conclusion=rng.choice(["good", "unqualified"]), evaluated_on=day,
        ),
    ]  # fmt: skip


def _group(
    rng: random.Random, n: int, base_id: str, other_base: str, uscc: str, day: dt.date
) -> list[DomainEvent]:
    """A group in preparation at one base: its stay, funding and services under its provisional
    id; registered (at a base of maybe another unit) and linked to an agency, overdue, or not
    yet either."""
    group = f"group-{n}"
    later = day + dt.timedelta(days=rng.randint(1, 200))
    events: list[DomainEvent] = [
        inc.GroupInPreparationRecorded(
            provisional_id=group, base_id=base_id, name="筹", kind="service_agency",
            reporting_unit="erqi", contact_person="赵", recorded_on=day,
            register_by=day + dt.timedelta(days=180),
        ),
        _stay(f"inc-{group}", base_id, group, day),
        inc.ProfessionalServicesRecorded(
            incubation_id=f"inc-{group}", base_id=base_id, uscc=group, record_id=f"gs-{n}",
            period_start=day, period_end=day, projects=1, service_hours="4", beneficiaries=3,
            description="服务",
        ),
    ]  # fmt: skip
    match rng.choice(["registered", "overdue", "preparing"]):
        case "registered":
            events += [
                inc.GroupRegistered(
                    provisional_id=group, base_id=other_base, uscc=uscc, registered_on=later
                ),
                inc.IncubationIdentityLinked(
                    incubation_id=f"inc-{group}",
                    base_id=base_id,
                    provisional_id=group,
                    uscc=uscc,
                    linked_on=later,
                ),
            ]
        case "overdue":
            events.append(
                inc.GroupRegistrationOverdue(
                    provisional_id=group, base_id=base_id, register_by=later, overdue_on=later
                )
            )
    return events


def histories() -> Iterator[tuple[str, CityState]]:
    """States of two seeded histories: by occurrence as of 2024-06-30 and 2026-12-31, and by
    recording (late facts left out) as of 2023-12-31."""
    for seed in (5, 6):
        facts = generated(2500, seed)
        facts += extras(facts, seed)
        for day in (D(2024, 6, 30), D(2026, 12, 31)):
            yield f"{seed} {day}", fold(f for f in facts if f.effective_on <= day)
        recorded = end_of_local_day(D(2023, 12, 31))
        yield (
            f"{seed} recorded",
            fold(
                f for f in facts if f.effective_on <= D(2023, 12, 31) and f.recorded_at <= recorded
            ),
        )


@pytest.fixture(scope="module")
def states() -> list[tuple[str, CityState]]:
    return list(histories())


ZERO = (0, "0", "0.00")


def encoded(rows: object) -> str:
    return json.dumps(rows, ensure_ascii=False)


def test_every_units_and_the_citys_figures_equal_their_first_definition(
    states: list[tuple[str, CityState]],
) -> None:
    units = unit_ids()
    for label, state in states:
        for period in PERIODS:
            expected = halfyear_oracle.half_year_rows(state, period, units)
            assert encoded(half_year_figures(state, period, None)) == encoded(expected), label
            for unit in units:
                alone = half_year_figures(state, period, unit)
                assert encoded(alone) == encoded({unit: expected[unit]}), (label, unit)


def test_the_histories_reach_every_figure(states: list[tuple[str, CityState]]) -> None:
    """Every figure is non-zero in some unit's row, and the city's distinct counts are not the
    sum of the units' (an agency counted in two units, unknown ones in the city alone)."""
    seen: set[str] = set()
    distinct_apart: set[str] = set()
    for _, state in states:
        for period in PERIODS:
            rows = halfyear_oracle.half_year_rows(state, period, unit_ids())
            city = rows.pop("city")
            seen |= {k for row in rows.values() for k, v in row.items() if v not in ZERO}
            for key in ("agencies_incubating", "listed_abnormal", "services_agencies",
                        "groups_preparing", "annual_reports_due"):  # fmt: skip
                if city[key] != sum(int(row[key]) for row in rows.values()):
                    distinct_apart.add(key)
    missing = set(city) - seen  # the generator's categories of violation are a few only
    assert all(key.startswith("violations_") for key in missing), missing
    assert {"agencies_incubating", "services_agencies", "groups_preparing"} <= distinct_apart


def test_the_rendered_rows_are_the_figures_with_their_unit(
    states: list[tuple[str, CityState]],
) -> None:
    _, state = states[0]
    query = ReportQuery("half_year", D(2023, 12, 31), None, None, year=2023, half="year_end")
    body = render(state, query, TargetOptions()).body
    rows = halfyear_oracle.half_year_rows(state, report_period(2023, "year_end"), unit_ids())
    assert [r["reporting_unit"] for r in body["units"]] == unit_ids()
    for row in [*body["units"], body["city"]]:
        figures = {k: v for k, v in row.items() if k not in ("reporting_unit", "unit_name")}
        assert encoded(figures) == encoded(rows[row["reporting_unit"]])


def test_a_batch_of_half_year_queries_of_one_period_is_one_pass(
    states: list[tuple[str, CityState]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live lane answers the queries waiting for one cut-off together: the half-year report
    in progress for the city and for each unit that asked is one pass over the state (every
    unit's figures), not one each; every answer equals its own render."""
    _, state = states[0]
    day = D(2023, 12, 31)
    year_end = ReportQuery("half_year", day, None, None, year=2023, half="year_end")
    mid_year = ReportQuery("half_year", day, None, None, year=2023, half="mid_year")
    asked = [
        year_end,
        *(ReportQuery("half_year", day, None, None, u, 2023, "year_end") for u in unit_ids()),
        mid_year,
        ReportQuery("targets", day, None, None),
        ReportQuery("coverage", day, None, None, "erqi"),
    ]
    options = TargetOptions()
    alone = [render(state, q, options) for q in asked]
    passes: list[tuple[object, ...]] = []
    one_pass = reports.half_year_figures

    def counted(*args: object) -> object:
        passes.append(args[1:])
        return one_pass(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reports, "half_year_figures", counted)
    assert render_all(state, asked, options) == alone
    # The year end once for all of its scopes; the mid-year, asked once, as any render.
    assert passes == [(report_period(2023, "year_end"),), (report_period(2023, "mid_year"), None)]
