"""A known history in 2011 (no other test uses that year), published as the producers would.

Event ids are derived from names (uuid5), so publishing the set again adds nothing: the
reporting projection keeps one fact per event id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent, schema_urn
from socialwork_contracts.topics import topic_of

from tests.support import uscc_for

NS = uuid.UUID("6f1c7a52-7d1e-4c55-9a43-1d1a2b3c4d5e")
CST = dt.timezone(dt.timedelta(hours=8))


def ident(name: str) -> str:
    return str(uuid.uuid5(NS, name))


A = [uscc_for(7_300_000 + i, unit_code="410102") for i in range(4)]  # 中原区
A5 = uscc_for(7_300_010, unit_code="410181")  # 巩义市
A6 = uscc_for(7_300_011, unit_code="410102")  # registered after a switch-over
BASE = ident("base-zhongyuan")


@dataclass(frozen=True)
class Published:
    name: str
    event: DomainEvent
    occurred: dt.datetime
    recorded: dt.datetime


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=CST)


def registered(i: int, uscc: str, unit: str, county: str, day: str) -> Published:
    event = reg.AgencyRegistered(
        uscc=uscc,
        name=f"测试{unit}第{i}社会工作服务中心",
        kind="service_agency",
        reporting_unit=unit,
        county_code=county,
        address="郑州市某路 1 号",
        legal_representative="张三",
        charter_purpose="社会工作服务",
        charter_scope="社区服务",
        charter_method="个案、小组、社区工作",
        full_time_staff=6,
        qualified_staff=2,
        service_fields=["community_service"],
        target_groups=["elderly"] if i % 2 else ["children"],
        priority=True,
        registered_on=dt.date.fromisoformat(day),
    )
    return Published(f"reg-{i}", event, at(day), at(day, 11))


def started(i: int, day: str) -> Published:
    event = inc.IncubationStarted(
        incubation_id=ident(f"inc-{i}"),
        base_id=BASE,
        agreement_id=ident(f"agr-{i}"),
        uscc=A[i],
        office_id=f"30{i}",
        term_start=dt.date.fromisoformat(day),
        term_end=dt.date.fromisoformat(day).replace(year=2012),
        started_on=dt.date.fromisoformat(day),
        local=True,
    )
    return Published(f"start-{i}", event, at(day), at(day, 11))


def known_history() -> list[Published]:
    """Incubation facts come first on purpose: topics are not ordered with each other."""
    office = [
        inc.Office(office_id=f"30{i}", area_m2="18.00", shared_room=False) for i in range(4)
    ] + [inc.Office(office_id="meeting", area_m2="60.00", shared_room=True)]
    base = inc.BaseEstablished(
        base_id=BASE,
        name="中原区社工机构孵化基地（测试）",
        level="county",
        reporting_unit="zhongyuan",
        county_code="410102",
        address="中原区某路 2 号",
        supervising_department="中原区民政局",
        operator="某社会工作发展中心",
        offices=office,
        has_desks_and_chairs=True,
        has_projector=True,
        fire_safety_compliant=True,
        established_on=dt.date(2011, 1, 10),
    )
    seed = inc.SupportRecorded(
        incubation_id=ident("inc-0"),
        uscc=A[0],
        base_id=BASE,
        support_type="funding",
        funding_type="seed_fund",
        amount_yuan="50000.00",
        description="种子基金",
        given_on=dt.date(2011, 3, 15),
    )
    venture = inc.SupportRecorded(
        incubation_id=ident("inc-1"),
        uscc=A[1],
        base_id=BASE,
        support_type="funding",
        funding_type="venture_philanthropy",
        amount_yuan="12000.50",
        description="公益创投",
        given_on=dt.date(2011, 5, 20),
    )
    training = inc.TrainingDelivered(
        base_id=BASE,
        session_id=ident("training-1"),
        title="社会工作实务培训",
        held_on=dt.date(2011, 4, 10),
        hours="3.5",
        attendees=25,
        agency_usccs=A[:3],
    )
    graduated = inc.AgencyGraduated(
        incubation_id=ident("inc-0"),
        base_id=BASE,
        uscc=A[0],
        graduated_on=dt.date(2011, 6, 15),
        assessment_summary="达到出壳标准",
        office_id="300",
    )
    violation = sup.ViolationRecorded(
        violation_id=ident("violation-1"),
        uscc=A[2],
        category="office_subletting",
        severity="serious",
        facts="与他人共用办公室",
        evidence_ref="证据-1",
        base_id=BASE,
        found_on=dt.date(2011, 5, 5),
    )
    ordered = sup.RectificationOrdered(
        rectification_id=ident("rect-1"),
        uscc=A[2],
        violation_id=ident("violation-1"),
        requirements="停止共用",
        deadline=dt.date(2011, 6, 6),
        ordered_on=dt.date(2011, 5, 6),
    )
    confirmed = sup.RectificationConfirmed(
        rectification_id=ident("rect-1"),
        uscc=A[2],
        violation_id=ident("violation-1"),
        verification="现场核查",
        confirmed_on=dt.date(2011, 6, 1),
    )
    listed = sup.AgencyListed(
        listing_id=ident("listing-1"),
        uscc=A[3],
        list="abnormal",
        ground="unreachable",
        legal_basis="《社会组织信用信息管理办法》第十三条",
        listed_on=dt.date(2011, 3, 1),
    )
    inspection = sup.AnnualInspectionConcluded(
        inspection_id=ident("inspection-1"),
        uscc=A[1],
        year=2010,
        conclusion="qualified",
        concluded_on=dt.date(2011, 5, 30),
    )
    # Entered on 2012-01-10 but backdated to 2011-06-20: a correction after the report was made.
    deregistered = reg.AgencyDeregistered(uscc=A[3], reason="自行解散（补录）")

    def same_day(name: str, event: DomainEvent, day: str) -> Published:
        return Published(name, event, at(day), at(day, 11))

    return [
        same_day("base", base, "2011-01-10"),
        started(0, "2011-03-01"),
        started(1, "2011-04-01"),
        started(2, "2011-05-01"),
        same_day("seed", seed, "2011-03-15"),
        same_day("venture", venture, "2011-05-20"),
        same_day("training", training, "2011-04-10"),
        same_day("graduated", graduated, "2011-06-15"),
        registered(0, A[0], "zhongyuan", "410102", "2011-02-01"),
        registered(1, A[1], "zhongyuan", "410102", "2011-02-02"),
        registered(2, A[2], "zhongyuan", "410102", "2011-02-03"),
        registered(3, A[3], "zhongyuan", "410102", "2011-02-04"),
        registered(4, A5, "gongyi", "410181", "2011-02-05"),
        same_day("violation", violation, "2011-05-05"),
        same_day("ordered", ordered, "2011-05-06"),
        same_day("confirmed", confirmed, "2011-06-01"),
        same_day("listed", listed, "2011-03-01"),
        same_day("inspection", inspection, "2011-05-30"),
        Published("deregistered", deregistered, at("2011-06-20"), at("2012-01-10")),
    ]


# Hand count of the mid-year 2011 report for 中原区 (all facts recorded by now).
EXPECTED_ZHONGYUAN = {
    "bases_operating": 1,
    "bases_meeting_standard": 1,
    "bases_county_level": 1,
    "agencies_registered": 3,  # A0..A3 registered, A3 deregistered on 2011-06-20
    "agencies_new": 4,
    "agencies_deregistered_or_revoked": 1,
    "agencies_incubating": 2,  # A1, A2 (A0 graduated on 2011-06-15)
    "incubations_started": 3,
    "agencies_graduated": 1,
    "funding_total_yuan": "62000.50",
    "funding_seed_fund_yuan": "50000.00",
    "funding_venture_philanthropy_yuan": "12000.50",
    "training_sessions": 1,
    "training_hours": "3.5",
    "training_attendees": 25,
    "inspections_qualified": 1,
    "violations": 1,
    "violations_office_subletting": 1,
    "rectifications_ordered": 1,
    "rectifications_confirmed": 1,
    "rectifications_open": 0,
    "listed_abnormal": 1,
}


def envelope(item: Published, position: int, *, type_key: str | None = None) -> CloudEvent:
    event = item.event
    stream = str(getattr(event, event.stream_field))
    key = type_key or event.type_key()
    return CloudEvent(
        id=ident(f"event-{item.name}"),
        source=f"/socialwork/{event.producer}",
        type=key,
        subject=stream,
        time=item.occurred,
        dataschema=schema_urn(key),
        data=event.model_dump(mode="json"),
        streamid=stream,
        streamversion=1,
        # Hand-made records, one per history: a fresh store id each, so consumers (which expect
        # the next version of each stream) take every one as version 1 of its own history.
        storeid=str(uuid.uuid4()),
        position=position,
        correlationid=ident(f"corr-{item.name}"),
        causationid=ident(f"cause-{item.name}"),
        actor="test-loader",
        actorrole="city_admin",
        recordedtime=item.recorded,
    )


async def publish(producer: AIOKafkaProducer, items: list[Published]) -> None:
    for position, item in enumerate(items, start=1):
        ce = envelope(item, position)
        topic = topic_of(item.event.producer).name
        await producer.send_and_wait(topic, ce.model_dump_json().encode(), key=ce.streamid.encode())
