"""A synthetic but realistic event history of the three producing services, as CloudEvents.

Proportions follow how the city's work runs (per agency over its life): one registration, staff
changes and an amendment or two, yearly inspections, a grade for some, violations with
rectification for about one in five, listings for some; about 60 % of agencies are incubated at
one of the 16 units' bases, with several support records each; bases hold trainings every
few weeks. Roughly 20 % registry, 45 % incubation, 35 % supervision events.

`python -m benchmarks.history_generator --events 1000000 --prefix bench.reporting.x` writes to
`<prefix>.registry|incubation|supervision` (6 partitions each); keys are stream ids as the relay's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.reference import localities

from benchmarks.bench_foundation import wait_for_leaders
from servicekit.kafka_admin import ensure_topics
from services.reporting.domain.facts import FactRow, fact_row

CST = dt.timezone(dt.timedelta(hours=8))
UNIT_WEIGHTS = {"jinshui": 6, "erqi": 4, "zhongyuan": 4, "guancheng": 3, "zhengdong": 4}
FIELDS = ["community_service", "marriage_family", "education_guidance", "health_care",
          "poverty_relief", "mental_health", "culture_sports"]  # fmt: skip
GROUPS = ["elderly", "disabled", "children", "youth", "rural_left_behind", "general_public"]
FUNDING = ["seed_fund", "venture_philanthropy", "project_competition", "subsidy_or_award",
           "fee_waiver", "government_purchase"]  # fmt: skip
CATEGORIES = list(sup.VIOLATION_CATEGORIES)
CONCLUSIONS: list[sup.InspectionConclusion] = ["qualified", "basically_qualified", "unqualified"]


@dataclass(frozen=True)
class Item:
    event: DomainEvent
    day: dt.date
    recorded_lag_days: int = 0


HISTORY_SEED = 2018  # the benchmarks' history (published, replayed)


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    span = max(0, (end - start).days)
    return start + dt.timedelta(days=rng.randint(0, span))


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _uscc(n: int) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "".join(charset[(n // 31**k) % 31] for k in range(9))
    return f"524101{n % 100:02d}{body}0"  # shape only: reporting does not check the check digit


def bases(rng: random.Random) -> list[Item]:
    items = []
    for unit in localities():
        for k in range(rng.choice([1, 2, 3])):
            offices = [
                inc.Office(
                    office_id=str(i), area_m2=f"{rng.randint(12, 40)}.00", shared_room=i == 0
                )
                for i in range(rng.randint(3, 8))
            ]
            established = _day(rng, dt.date(2016, 6, 1), dt.date(2024, 6, 1))
            items.append(
                Item(
                    inc.BaseEstablished(
                        base_id=_id(rng),
                        name=f"{unit.name}第{k + 1}社工机构孵化基地",
                        level=rng.choice(["city", "county", "township"]),
                        reporting_unit=unit.id,
                        county_code=unit.county_code,
                        address=f"{unit.name}某路 {k + 1} 号",
                        supervising_department=f"{unit.name}民政局",
                        operator="某社会工作发展中心",
                        offices=offices,
                        has_desks_and_chairs=True,
                        has_projector=rng.random() > 0.1,
                        fire_safety_compliant=rng.random() > 0.05,
                        established_on=established,
                    ),
                    established,
                )
            )
    return items


def agency_life(rng: random.Random, n: int, base_items: list[Item]) -> Iterator[Item]:
    units = list(localities())
    unit = rng.choices(units, weights=[UNIT_WEIGHTS.get(u.id, 2) for u in units])[0]
    uscc = _uscc(n)
    registered = _day(rng, dt.date(2016, 1, 1), dt.date(2025, 6, 30))
    last = dt.date(2026, 6, 30)
    yield Item(
        reg.AgencyRegistered(
            uscc=uscc,
            name=f"郑州市{unit.name}第{n}社会工作服务中心",
            kind="service_agency" if rng.random() > 0.05 else "association",
            reporting_unit=unit.id,
            county_code=unit.county_code,
            address=f"{unit.name}某街道 {n} 号",
            legal_representative="张三",
            charter_purpose="社会工作服务",
            charter_scope="社区服务",
            charter_method="个案、小组、社区工作",
            full_time_staff=6,
            qualified_staff=2,
            service_fields=rng.sample(FIELDS, rng.randint(1, 3)),
            target_groups=rng.sample(GROUPS, rng.randint(1, 2)),
            priority=True,
            registered_on=registered,
        ),
        registered,
        rng.choice([0, 0, 0, 30, 400]),  # some records are entered late (backdated)
    )
    for _ in range(rng.randint(1, 5)):
        yield Item(
            reg.AgencyStaffChanged(
                uscc=uscc, full_time_staff=rng.randint(3, 20), qualified_staff=rng.randint(1, 8)
            ),
            _day(rng, registered, last),
        )
    if rng.random() < 0.4:
        yield Item(
            reg.AgencyProfileAmended(
                uscc=uscc, address="新地址", priority=True, changed_fields=["address"]
            ),
            _day(rng, registered, last),
        )
    for year in range(registered.year, 2026):
        concluded = dt.date(year + 1, 5, rng.randint(1, 28))
        yield Item(
            sup.AnnualInspectionConcluded(
                inspection_id=_id(rng),
                uscc=uscc,
                year=year,
                conclusion=rng.choices(CONCLUSIONS, [85, 10, 5])[0],
                concluded_on=concluded,
            ),
            concluded,
        )
    if rng.random() < 0.25:
        announced = _day(rng, registered, last)
        yield Item(
            sup.EvaluationGradeAwarded(
                evaluation_id=_id(rng),
                uscc=uscc,
                grade=rng.randint(1, 5),
                announced_on=announced,
                valid_from=announced,
                valid_to=announced + dt.timedelta(days=5 * 365),
            ),
            announced,
        )
    if rng.random() < 0.2:
        found = _day(rng, registered, last)
        violation, rect = _id(rng), _id(rng)
        yield Item(
            sup.ViolationRecorded(
                violation_id=violation,
                uscc=uscc,
                category=rng.choice(CATEGORIES),
                severity=rng.choice(["minor", "serious", "grave"]),
                facts="检查发现",
                evidence_ref="证据",
                found_on=found,
            ),
            found,
        )
        deadline = found + dt.timedelta(days=30)
        yield Item(
            sup.RectificationOrdered(
                rectification_id=rect,
                uscc=uscc,
                violation_id=violation,
                requirements="限期整改",
                deadline=deadline,
                ordered_on=found,
            ),
            found,
        )
        if rng.random() < 0.8:
            confirmed = found + dt.timedelta(days=rng.randint(5, 30))
            yield Item(
                sup.RectificationConfirmed(
                    rectification_id=rect,
                    uscc=uscc,
                    violation_id=violation,
                    verification="现场核查",
                    confirmed_on=confirmed,
                ),
                confirmed,
            )
        else:
            overdue = deadline + dt.timedelta(days=1)
            yield Item(
                sup.RectificationOverdue(
                    rectification_id=rect,
                    uscc=uscc,
                    violation_id=violation,
                    deadline=deadline,
                    overdue_on=overdue,
                ),
                overdue,
            )
            listing = _id(rng)
            yield Item(
                sup.AgencyListed(
                    listing_id=listing,
                    uscc=uscc,
                    list="abnormal",
                    ground="rectification_overdue",
                    legal_basis="《社会组织信用信息管理办法》",
                    listed_on=overdue,
                ),
                overdue,
            )
            if rng.random() < 0.7:
                removed = overdue + dt.timedelta(days=rng.randint(30, 200))
                yield Item(
                    sup.AgencyDelisted(
                        listing_id=listing,
                        uscc=uscc,
                        list="abnormal",
                        reason="rectification_verified",
                        removed_on=removed,
                    ),
                    removed,
                )
    if rng.random() < 0.6:
        base = rng.choice(base_items).event
        assert isinstance(base, inc.BaseEstablished)
        start = max(registered, base.established_on) + dt.timedelta(days=rng.randint(1, 200))
        incubation = _id(rng)
        yield Item(
            inc.IncubationStarted(
                incubation_id=incubation,
                base_id=base.base_id,
                agreement_id=_id(rng),
                uscc=uscc,
                office_id=str(rng.randint(1, 7)),
                term_start=start,
                term_end=start + dt.timedelta(days=364),
                started_on=start,
                local=base.reporting_unit == unit.id,
                non_local_reason=None if base.reporting_unit == unit.id else "跨区入孵",
            ),
            start,
        )
        for _ in range(rng.randint(3, 12)):
            given = start + dt.timedelta(days=rng.randint(0, 360))
            funding = rng.random() < 0.5
            yield Item(
                inc.SupportRecorded(
                    incubation_id=incubation,
                    uscc=uscc,
                    base_id=base.base_id,
                    support_type="funding" if funding else rng.choice(["guidance", "training"]),
                    funding_type=rng.choice(FUNDING) if funding else None,
                    amount_yuan=f"{rng.randint(1, 100) * 1000}.00" if funding else None,
                    description="扶持",
                    given_on=given,
                ),
                given,
            )
        end = start + dt.timedelta(days=rng.randint(200, 500))
        if rng.random() < 0.75:
            yield Item(
                inc.AgencyGraduated(
                    incubation_id=incubation,
                    base_id=base.base_id,
                    uscc=uscc,
                    graduated_on=end,
                    assessment_summary="合格",
                    office_id="1",
                ),
                end,
            )
        else:
            yield Item(
                inc.IncubationTerminated(
                    incubation_id=incubation,
                    base_id=base.base_id,
                    uscc=uscc,
                    office_id="1",
                    reason="voluntary",
                    terminated_on=end,
                    detail="主动退出",
                ),
                end,
            )
        for _ in range(rng.randint(2, 6)):  # trainings at the base in the agency's time there
            held = start + dt.timedelta(days=rng.randint(0, 200))
            yield Item(
                inc.TrainingDelivered(
                    base_id=base.base_id,
                    session_id=_id(rng),
                    title="社会工作实务培训",
                    held_on=held,
                    hours="3.5",
                    attendees=rng.randint(10, 60),
                    agency_usccs=[uscc],
                ),
                held,
            )
    if rng.random() < 0.03:
        gone = _day(rng, registered, last)
        yield Item(reg.AgencyDeregistered(uscc=uscc, reason="自行解散"), gone)


def history(
    total: int, seed: int = HISTORY_SEED, first_agency: int = 1, bases_of: int | None = None
) -> Iterator[Item]:
    """At least `total` events (bases first, then agency lives), reproducible from the seed.
    Agencies are numbered from `first_agency` (their credit codes follow from the number).
    With `bases_of`, the agencies are incubated in the bases of the history of that seed,
    which are not yielded: they exist already (the report benchmark's live traffic)."""
    rng = random.Random(seed)
    produced, n = 0, first_agency - 1
    if bases_of is None:
        base_items = bases(rng)
        yield from base_items
        produced = len(base_items)
    else:
        base_items = bases(random.Random(bases_of))  # a history's first draws are its bases
    while produced < total:
        n += 1
        for item in agency_life(rng, n, base_items):
            produced += 1
            yield item


def envelope(item: Item, position: int, rng: random.Random) -> tuple[bytes, bytes]:
    """(key, value) of the CloudEvent, exactly as the relay would publish it."""
    event = item.event
    stream = str(getattr(event, event.stream_field))
    occurred, recorded = occurred_recorded(item)
    key = event.type_key()
    body = {
        "specversion": "1.0",
        "id": _id(rng),
        "source": f"/socialwork/{event.producer}",
        "type": key,
        "subject": stream,
        "time": occurred.isoformat(),
        "datacontenttype": "application/json",
        "dataschema": f"urn:socialwork:schema:{key}",
        "data": event.model_dump(mode="json"),
        "streamid": stream,
        "streamversion": 1,
        "position": position,
        "correlationid": "bench",
        "causationid": "bench",
        "actor": "bench",
        "actorrole": "city_admin",
        "recordedtime": recorded.astimezone(dt.UTC).isoformat(),
    }
    return stream.encode(), json.dumps(body, ensure_ascii=False).encode()


def occurred_recorded(item: Item) -> tuple[dt.datetime, dt.datetime]:
    occurred = dt.datetime.combine(item.day, dt.time(9, 30), tzinfo=CST)
    return occurred, occurred + dt.timedelta(days=item.recorded_lag_days, minutes=5)


def fact_rows(total: int, seed: int = HISTORY_SEED) -> Iterator[FactRow]:
    """The same history as reporting facts (what a replay stores), for loading a projection
    directly into PostgreSQL without Kafka (report benchmarks and equivalence tests)."""
    rng = random.Random(seed + 1)
    for item in history(total, seed):
        event = item.event
        occurred, recorded = occurred_recorded(item)
        stream = str(getattr(event, event.stream_field))
        yield fact_row(_id(rng), event, stream, occurred, recorded)


def topic_names(prefix: str) -> dict[str, str]:
    return {p: f"{prefix}.{p}" for p in ("registry", "incubation", "supervision")}


# The instant the published history was recorded by: a log never holds a fact recorded after
# its present, and in service no fact takes effect after today (a command dated in the future is
# refused), so none of the lives' later events past it is sent. A report as of today then folds
# what the service's would (issue 12: 165 of a million were, and a state as of the half-year's end
# was no longer today's).
RECORDED_BY = dt.datetime(2026, 12, 1, tzinfo=CST)


def published(total: int) -> Iterator[Item]:
    """The `total` events `publish` sends: the history's, recorded by `RECORDED_BY`."""
    # Twice as many asked: the generator stops at the end of an agency's life past them.
    recorded = (i for i in history(2 * total) if occurred_recorded(i)[1] <= RECORDED_BY)
    return itertools.islice(recorded, total)


async def publish(bootstrap: str, prefix: str, total: int) -> dict[str, int]:
    """Generate and send to 6-partition topics the `published` events; returns the count per
    producing service."""
    topics = topic_names(prefix)
    await ensure_topics(bootstrap, [(t, 6) for t in topics.values()])
    await wait_for_leaders(bootstrap, list(topics.values()))  # new topics: leaders first
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024, acks=1
    )
    await producer.start()
    counts = dict.fromkeys(topics, 0)
    rng = random.Random(7)
    started = time.monotonic()
    try:
        pending = []
        for position, item in enumerate(published(total), start=1):
            key, value = envelope(item, position, rng)
            pending.append(await producer.send(topics[item.event.producer], value, key=key))
            counts[item.event.producer] += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
                print(f"\rgenerated {position:,} events ({time.monotonic() - started:.0f} s)",
                      end="", flush=True)  # fmt: skip
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    print()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history_generator")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(publish(args.bootstrap, args.prefix, args.events))))


if __name__ == "__main__":
    main()
