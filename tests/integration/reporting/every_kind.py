"""Facts of the kinds the generated history lacks (issue 11's operation records, closed and
refitted bases, extended and re-linked stays, groups in preparation, annual reports, follow-up
evaluations, listings), made on its own bases, stays and agencies, some recorded late: for the
tests that try every report route against the fold (issue 12), whose shortcuts each kind may
break."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent

from benchmarks.history_generator import Item, occurred_recorded
from services.reporting.domain.facts import FactRow, fact_row
from services.reporting.domain.periods import LOCAL
from tests.support import example

LAGS = (0, 0, 0, 0, 1, 3, 30)  # days between a fact's day and its recording (the late agency
# facts, 400 days, are the history's: a by-recording cut-off after these may read kept figures)
DAY = dt.timedelta(days=1)


class Extras:
    """The events made so far, each with its day and a lag drawn from LAGS."""

    def __init__(self, rng: random.Random, last: dt.date) -> None:
        self.rng, self.last, self.items = rng, last, list[Item]()

    def add(
        self, cls: type[DomainEvent], day: dt.date, lag: int | None = None, **fields: Any
    ) -> None:
        """The event of `cls` (its contract example's fields, then `fields`) taking effect on
        `day`, recorded `lag` days later (else a lag drawn from LAGS); none after the history's
        last day (the generated world ends there)."""
        if day > self.last:
            return
        event = example(cls, **fields)
        self.items.append(Item(event, day, self.rng.choice(LAGS) if lag is None else lag))


def _payloads(rows: list[FactRow], kind: str) -> list[dict[str, Any]]:
    return [json.loads(r[10]) for r in rows if r[2] == kind]


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def every_kind(rows: list[FactRow], seed: int) -> list[FactRow]:
    """The extra facts for `rows` (not shuffled in: the caller decides the arrival order), as
    a replay stores them (`fact_rows`), a third of them near local midnight (`_times`)."""
    ids = random.Random(seed + 1)
    return [
        fact_row(
            str(uuid.UUID(int=ids.getrandbits(128))),
            item.event,
            str(getattr(item.event, item.event.stream_field)),
            *_times(item, ids),
        )
        for item in every_kind_items(rows, seed)
    ]


def _times(item: Item, rng: random.Random) -> tuple[dt.datetime, dt.datetime]:
    """The generator's times (`occurred_recorded`), or, for one in three, near local midnight:
    occurred at 23:50 and recorded a quarter of an hour later, on the next local day but the
    same UTC day (a cut-off at the end of the local day takes the one and not the other)."""
    if rng.random() < 1 / 3:
        occurred = dt.datetime.combine(item.day, dt.time(23, 50), tzinfo=LOCAL)
        return occurred, occurred + dt.timedelta(days=item.recorded_lag_days, minutes=15)
    return occurred_recorded(item)


def every_kind_items(rows: list[FactRow], seed: int) -> list[Item]:
    """The extra events for `rows`, as the history generator gives its own (to publish)."""
    rng = random.Random(seed)
    made = Extras(rng, max(r[7] for r in rows))
    bases = _payloads(rows, "BaseEstablished")
    stays = _payloads(rows, "IncubationStarted")
    graduated = _payloads(rows, "AgencyGraduated")
    agencies = [str(r[5]) for r in rows if r[2] == "AgencyRegistered"]
    _bases(made, bases)
    _stays(made, stays, _payloads(rows, "AgencyRegistered"))
    _groups(made, bases, agencies)
    _agencies(made, _payloads(rows, "AgencyRegistered"), graduated)
    return made.items


def _bases(made: Extras, bases: list[dict[str, Any]]) -> None:
    rng = made.rng
    for i, b in enumerate(bases):
        base_id, opened = b["base_id"], _day(b["established_on"])
        for n in range(rng.randint(0, 3)):
            counted_on = opened + rng.randint(0, 1500) * DAY
            staff = rng.randint(1, 8)
            made.add(
                inc.BaseStaffRecorded,
                counted_on,
                base_id=base_id,
                counted_on=counted_on,
                full_time=staff,
                qualified=rng.randint(0, staff),
            )
            received_on = opened + rng.randint(0, 1500) * DAY
            made.add(
                inc.BaseFundingRecorded,
                received_on,
                base_id=base_id,
                funding_id=f"{base_id}-f{n}",
                source=rng.choice(("budget", "other")),
                amount_yuan=f"{rng.randint(1, 90000)}.{rng.randint(0, 99):02d}",
                received_on=received_on,
            )
        if i % 3 == 0:
            evaluated_on = opened + rng.randint(200, 1200) * DAY
            made.add(
                inc.BaseEvaluated,
                evaluated_on,
                base_id=base_id,
                evaluation_id=f"{base_id}-e",
                period_start=evaluated_on - 300 * DAY,
                period_end=evaluated_on - 20 * DAY,
                conclusion=rng.choice(("excellent", "good", "qualified", "unqualified")),
                evaluated_on=evaluated_on,
            )
        if i % 5 == 1:
            closed_on = opened + rng.randint(300, 1500) * DAY
            made.add(inc.BaseClosed, closed_on, base_id=base_id, closed_on=closed_on)
        elif i % 5 == 2:
            updated_on = opened + rng.randint(30, 900) * DAY
            offices = [
                {"office_id": str(k), "area_m2": "20.00", "shared_room": k == 0} for k in range(6)
            ]
            made.add(
                inc.BaseFacilitiesUpdated,
                updated_on,
                base_id=base_id,
                offices=offices,
                updated_on=updated_on,
            )


def _stays(made: Extras, stays: list[dict[str, Any]], registered: list[dict[str, Any]]) -> None:
    rng = made.rng
    for i, s in enumerate(stays):
        own = {k: s[k] for k in ("incubation_id", "base_id", "uscc")}
        started_on, term_end = _day(s["started_on"]), _day(s["term_end"])
        notice_on = started_on - 12 * DAY
        made.add(
            inc.PublicNoticeOpened,
            notice_on,
            **own,
            agency_name=f"机构{i}",
            starts_on=notice_on,
            ends_on=notice_on + 6 * DAY,
        )
        if i % 4 == 0:
            made.add(
                inc.AdmissionObjectionRecorded,
                notice_on + 2 * DAY,
                **own,
                objection_id=f"{s['incubation_id']}-o",
                received_on=notice_on + 2 * DAY,
            )
        quarter_end = started_on + rng.randint(20, 80) * DAY
        made.add(
            inc.ProfessionalServicesRecorded,
            quarter_end + 5 * DAY,
            **own,
            record_id=f"{s['incubation_id']}-s",
            period_start=max(started_on, quarter_end - 60 * DAY, _half_start(quarter_end)),
            period_end=quarter_end,
            projects=rng.randint(1, 3),
            service_hours=f"{rng.randint(1, 300)}.5",
            beneficiaries=rng.randint(1, 500),
        )
        if i % 5 == 0:
            made.add(
                inc.IncubationTermOverrun,
                term_end + DAY,
                **own,
                term_end=term_end,
                overrun_on=term_end + DAY,
            )
        elif i % 5 == 1:
            flagged_on = started_on + 120 * DAY
            made.add(
                inc.IncubationInactivityFlagged,
                flagged_on,
                **own,
                last_activity_on=flagged_on - 90 * DAY,
                inactive_days=90,
                flagged_on=flagged_on,
            )
        elif i % 5 == 2:
            made.add(
                inc.IncubationExtended,
                term_end - 10 * DAY,
                **own,
                previous_term_end=term_end,
                term_end=term_end + 365 * DAY,
                extended_on=term_end - 10 * DAY,
            )
        elif i % 5 == 3:  # its records move to the credit code it is linked to (c2)
            linked_on, linked = started_on + rng.randint(10, 200) * DAY, f"52410105LINK{i:06d}"
            made.add(
                inc.IncubationIdentityLinked,
                linked_on,
                **{**own, "uscc": linked},
                provisional_id=s["uscc"],
                linked_on=linked_on,
            )
            if i % 2:  # that agency's registration entered 400 days late: unknown until then
                payload = {**rng.choice(registered), "uscc": linked, "registered_on": linked_on}
                made.add(reg.AgencyRegistered, linked_on, 400, **payload)


def _half_start(day: dt.date) -> dt.date:
    """A record's service period never spans two half-years."""
    return dt.date(day.year, 1 if day.month <= 6 else 7, 1)


def _groups(made: Extras, bases: list[dict[str, Any]], agencies: list[str]) -> None:
    rng = made.rng
    for i, b in enumerate(bases[:12]):
        base_id, opened = b["base_id"], _day(b["established_on"])
        recorded_on = opened + rng.randint(10, 900) * DAY
        register_by = recorded_on + 180 * DAY
        group = {"provisional_id": f"{base_id}-g", "base_id": base_id}
        made.add(
            inc.GroupInPreparationRecorded,
            recorded_on,
            **group,
            reporting_unit=b["reporting_unit"],
            recorded_on=recorded_on,
            register_by=register_by,
        )
        if i % 2:
            registered_on = recorded_on + rng.randint(5, 170) * DAY
            made.add(
                inc.GroupRegistered,
                registered_on,
                **group,
                uscc=rng.choice(agencies),
                registered_on=registered_on,
            )
        else:
            made.add(
                inc.GroupRegistrationOverdue,
                register_by + DAY,
                **group,
                register_by=register_by,
                overdue_on=register_by + DAY,
            )


def _agencies(
    made: Extras, registered: list[dict[str, Any]], graduated: list[dict[str, Any]]
) -> None:
    """Annual reports of the agencies' first working year, and listings, so that agencies moved
    to another unit and recorded late (the history's) take their records along."""
    rng = made.rng
    for i, r in enumerate(registered[::3]):
        uscc, on = r["uscc"], _day(r["registered_on"])
        if i % 3 == 0:
            listing = {"uscc": uscc, "listing_id": f"{uscc}-l", "list": "abnormal"}
            made.add(sup.AgencyListed, on + 150 * DAY, **listing, listed_on=on + 150 * DAY)
            if i % 2:
                removed_on = on + 330 * DAY
                made.add(sup.AgencyDelisted, removed_on, **listing, removed_on=removed_on)
        year = on.year
        deadline = dt.date(year + 1, 5, 31)
        overdue: dict[str, Any] = {"uscc": uscc, "year": year, "deadline": deadline}
        overdue["overdue_on"] = deadline + DAY
        if rng.random() < 0.6:
            late = rng.random() < 0.3
            if late:
                made.add(sup.AnnualReportOverdue, deadline + DAY, **overdue)
            filed_on = deadline + (40 * DAY if late else -10 * DAY)
            made.add(
                sup.AnnualReportFiled,
                filed_on,
                uscc=uscc,
                year=year,
                deadline=deadline,
                filed_on=filed_on,
                late=late,
            )
        else:
            made.add(sup.AnnualReportOverdue, deadline + DAY, **overdue)
    for g in graduated[::2]:
        evaluated_on = _day(g["graduated_on"]) + rng.randint(30, 400) * DAY
        made.add(
            sup.FollowUpEvaluationRecorded,
            evaluated_on,
            uscc=g["uscc"],
            evaluation_id=f"{g['uscc']}-{evaluated_on}",
            conclusion=rng.choice(("excellent", "good", "qualified", "unqualified")),
            evaluated_on=evaluated_on,
        )
