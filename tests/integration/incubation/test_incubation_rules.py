"""Invariants under concurrency, the supervision reaction, and the API's edges (real infra)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import schema_urn
from socialwork_contracts.periods import LOCAL_TIME_ZONE
from socialwork_contracts.registry import AgencyDeregistered
from socialwork_contracts.supervision import AgencyListed, PenaltyImposed, ViolationRecorded
from socialwork_contracts.topics import REGISTRY, SUPERVISION, TopicSpec

from servicekit.auth import Principal, Role
from servicekit.command_table import run_command
from servicekit.commands import CommandContext
from servicekit.eventstore import EventStore
from servicekit.eventstore.store import init_connection
from services.incubation.domain.commands import ApproveApplication
from services.incubation.handlers import COMMANDS
from tests.conftest import Infra
from tests.integration.incubation.world import ALL_MET, World, new_id, world
from tests.support import auth, envelope, example, wait_for

pytestmark = pytest.mark.infra


@pytest.fixture
async def w(service_env: dict[str, str]) -> AsyncIterator[World]:
    async with world() as both:
        yield both


async def test_invariants_hold_under_concurrent_commands(w: World, database_url: str) -> None:
    await w.base(places=2)
    agencies = [await w.register() for _ in range(3)]
    ids = [await w.apply(a) for a in agencies]
    for incubation_id in ids:
        await w.review(incubation_id)

    # Three approvals at once for two offices: exactly two get in, the third is told why.
    answers = await asyncio.gather(*(w.command("approve-application", w.approval(i)) for i in ids))
    assert sorted(a.status_code for a in answers) == [201, 201, 422]
    refused = next(a for a in answers if a.status_code == 422).json()
    assert {e["code"] for e in refused["errors"]} <= {"no_office_available", "call_places_full"}

    # Two agreements at once for the same office: one agency per office.
    admitted = [i for i, a in zip(ids, answers, strict=True) if a.status_code == 201]
    signs = await asyncio.gather(
        *(w.command("sign-agreement", w.agreement(i, "301")) for i in admitted)
    )
    assert sorted(s.status_code for s in signs) == [201, 422]
    assert "office_occupied" in {
        e["code"] for s in signs if s.status_code == 422 for e in s.json()["errors"]
    }

    # The same agency at a second base while it holds a place here: refused.
    holder = agencies[ids.index(admitted[0])]
    other = World(w.registry, w.incubation)
    await other.base()
    second = await other.command(
        "submit-application",
        {
            "incubation_id": new_id(),
            "base_id": other.base_id,
            "call_id": other.call_id,
            "uscc": holder,
            "submitted_on": "2023-04-10",
        },
    )
    assert second.status_code == 422
    assert second.json()["errors"][0]["code"] == "agency_already_incubating"

    # The last line of defence: the schema itself refuses a second place for one agency.
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                "INSERT INTO incubation.incubations (incubation_id, base_id, call_id, uscc, "
                "agency_name, status, local, submitted_on, state, version) VALUES "
                "($1, $2, 'c', $3, 'x', 'approved', true, '2023-04-10', '{}', 1)",
                new_id(),
                other.base_id,
                holder,
            )
    finally:
        await conn.close()


async def publish_listing(infra: Infra, uscc: str, credit_list: str, ground: str) -> None:
    listing = AgencyListed(
        listing_id=new_id(),
        uscc=uscc,
        list=credit_list,  # type: ignore[arg-type]
        ground=ground,
        legal_basis="《社会组织信用信息管理办法》第十六条",
        listed_on=dt.date(2024, 1, 10),
    )
    await publish_hand_made(infra, uscc, listing, dt.datetime(2024, 1, 10, 9, 0, tzinfo=dt.UTC))


async def publish_hand_made(
    infra: Infra, uscc: str, event: DomainEvent, time: dt.datetime, topic: TopicSpec = SUPERVISION
) -> None:
    """`event` about agency `uscc` on its producer's topic (supervision's unless `topic`
    says), as that producer's relay would publish it, having occurred and been recorded at
    `time`: a hand-made record, version 1 of a history of its own."""
    record = envelope(
        event.type_key(),
        event.model_dump(mode="json"),
        uscc,
        source=f"/socialwork/{topic.producer}",
        dataschema=schema_urn(event.type_key()),
        storeid=str(uuid.uuid4()),
        time=time,
        recordedtime=time,
        actorrole="unit_officer",
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic.name, record.model_dump_json().encode(), key=uscc.encode()
        )
    finally:
        await producer.stop()


async def admission_refused(w: World, uscc: str) -> bool:
    again = await w.command(
        "submit-application",
        {
            "incubation_id": new_id(),
            "base_id": w.base_id,
            "call_id": w.call_id,
            "uscc": uscc,
            "submitted_on": "2023-04-11",
        },
    )
    return again.status_code == 422 and "agency_listed" in {
        e["code"] for e in again.json()["errors"]
    }


async def test_a_serious_listing_ends_the_incubation_and_bars_admission(
    w: World, infra: Infra
) -> None:
    await w.base()
    listed = await w.register()
    incubation_id = await w.admit(listed, "301")
    await publish_listing(infra, listed, "serious", "large_fine")

    async def ended() -> bool:
        return await w.status(incubation_id) == "terminated"

    await wait_for(ended)
    state = (await w.incubation.get(f"/incubations/{incubation_id}", headers=auth())).json()
    assert state["termination_reason"] == "penalty_or_listing"
    assert state["ended_on"] == "2024-01-10"
    assert await admission_refused(w, listed)


def serious_breach(uscc: str, base_id: str) -> DomainEvent:
    """guidance §5.3: a serious violation of a banned use (here subletting an office)."""
    event = example(
        ViolationRecorded,
        uscc=uscc,
        base_id=base_id,
        violation_id=new_id(),
        found_on=dt.date(2024, 1, 10),
    )
    assert (event.category, event.severity) == ("office_subletting", "serious")
    return event


def suspension_penalty(uscc: str, _: str) -> DomainEvent:
    """domain.md: a penalty suspending the agency's activities ends its stay."""
    return example(
        PenaltyImposed,
        uscc=uscc,
        penalty_id=new_id(),
        kind="suspension",
        decided_on=dt.date(2024, 1, 10),
        suspended_until=dt.date(2024, 4, 10),
    )


@pytest.mark.parametrize(
    ("cause", "reason"),
    [(serious_breach, "agreement_breach"), (suspension_penalty, "penalty_or_listing")],
)
async def test_a_serious_case_ends_the_stay_for_its_reason_on_its_local_day(
    w: World, infra: Infra, cause: Callable[[str, str], DomainEvent], reason: str
) -> None:
    """A serious breach of the incubation agreement, or a suspension penalty, ends the stay,
    each for its own reason, on the day it happened in local time (07:00 in Zhengzhou is
    still the day before in UTC)."""
    await w.base()
    uscc = await w.register()
    incubation_id = await w.admit(uscc, "301")
    happened = dt.datetime(2024, 1, 10, 7, 0, tzinfo=LOCAL_TIME_ZONE)
    await publish_hand_made(infra, uscc, cause(uscc, w.base_id), happened)

    async def ended() -> bool:
        return await w.status(incubation_id) == "terminated"

    await wait_for(ended)
    state = (await w.incubation.get(f"/incubations/{incubation_id}", headers=auth())).json()
    assert (state["termination_reason"], state["ended_on"]) == (reason, "2024-01-10")


async def test_an_abnormal_listing_bars_admission_but_does_not_evict(
    w: World, infra: Infra
) -> None:
    """domain.md: an abnormal listing alone blocks admission, funding and graduation only."""
    await w.base()
    listed = await w.register()
    incubation_id = await w.admit(listed, "301")
    await publish_listing(infra, listed, "abnormal", "warning_or_small_fine")
    # The listing and any termination are applied in one transaction: once it bars admission,
    # an eviction would already show.
    await wait_for(lambda: admission_refused(w, listed))
    assert await w.status(incubation_id) == "incubating"


async def test_a_deregistration_waits_for_an_approval_in_flight_and_ends_its_stay(
    w: World, infra: Infra, database_url: str
) -> None:
    """The reaction to a deregistration takes the agency's lock before it looks for the
    agency's places, as an approval takes it before it gives one: an approval not yet committed
    when the deregistration is applied holds the lock, so the reaction waits for its commit and
    ends the stay it made. Without the lock the reaction would look first, find no place, and
    leave a deregistered agency an approved stay."""
    await w.base()
    uscc = await w.register()
    incubation_id = await w.apply(uscc)
    await w.review(incubation_id)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2, init=init_connection)
    try:
        async with pool.acquire() as conn:
            approval = conn.transaction()
            await approval.start()
            command = ApproveApplication.model_validate(w.approval(incubation_id))
            officer = Principal("officer", Role.CITY_ADMIN)
            context = CommandContext(officer, "corr-approval", dt.datetime.now(dt.UTC))
            await run_command(COMMANDS, EventStore(pool, "incubation"), conn, command, context)
            # Published by hand: this session is a superuser's, which could write any store,
            # so every relay holds back what was recorded after its transaction began
            # (servicekit.eventstore.store._settled) and the registry's would publish it late.
            closed = AgencyDeregistered(uscc=uscc, reason="理事会决议解散")
            await publish_hand_made(infra, uscc, closed, dt.datetime.now(dt.UTC), REGISTRY)

            async def waiting_or_applied() -> bool:
                waiting = await pool.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
                agency = await w.incubation.get(f"/agencies/{uscc}", headers=auth())
                return bool(waiting) or agency.json()["status"] == "deregistered"

            await wait_for(waiting_or_applied)
            await approval.commit()
    finally:
        await pool.close()

    async def ended() -> bool:
        return await w.status(incubation_id) == "terminated"

    await wait_for(ended)


async def test_api_edges(w: World, database_url: str) -> None:
    await w.base()
    # A base below standard says why.
    update = {
        "base_id": w.base_id,
        "offices": [{"office_id": "301", "area_m2": "18"}, {"office_id": "302", "area_m2": "14"}],
        "has_desks_and_chairs": True,
        "has_projector": False,
        "fire_safety_compliant": True,
        "updated_on": "2023-05-01",
    }
    assert (await w.command("update-facilities", update, key="upd-1")).status_code == 201
    retry = await w.command("update-facilities", update, key="upd-1")
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    base = (await w.incubation.get(f"/bases/{w.base_id}", headers=auth(Role.AUDITOR))).json()
    codes = {s["code"] for s in base["hardware_standard"]["shortfalls"]}
    assert base["hardware_standard"]["can_admit"] is False
    assert codes == {"too_few_offices", "no_shared_room", "no_projector"}

    # Scope: another unit's officer, a reader, another base's operator: 403, nothing stored.
    close = {"base_id": w.base_id, "reason": "调整", "closed_on": "2024-01-01"}
    for scope in (
        {"role": Role.UNIT_OFFICER, "unit": "erqi"},
        {"role": Role.AUDITOR},
        {"role": Role.BASE_OPERATOR, "base": new_id()},
    ):
        assert (await w.command("close-base", close, **scope)).status_code == 403
    missing = await w.command(
        "approve-application",
        {"incubation_id": new_id(), "opinion": "x", "approved_on": "2023-06-01"},
    )
    assert missing.status_code == 404 and missing.json()["code"] == "incubation_not_found"
    unknown = await w.command(
        "submit-application",
        {
            "incubation_id": new_id(),
            "base_id": w.base_id,
            "call_id": w.call_id,
            "uscc": "52410105MA0000000X",
            "submitted_on": "2023-04-10",
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "agency_not_registered"
    officer = await w.command("close-base", close, role=Role.UNIT_OFFICER, unit="jinshui")
    assert officer.status_code == 201
    assert (await w.incubation.get("/bases", headers=auth(Role.INTEGRATOR))).status_code == 403


async def test_a_revocation_ends_an_approved_stay_too(w: World) -> None:
    """Only signed and running stays were terminated: an approved one kept its place."""
    await w.base(places=2)
    uscc = await w.register()
    await w.known(uscc, "active")
    incubation_id = await w.apply(uscc)
    await w.review(incubation_id)
    await w.ok("approve-application", w.approval(incubation_id))
    revoke = await w.registry.post(
        "/commands/revoke-agency-registration",
        json={
            "uscc": uscc,
            "reason": "以欺骗手段取得登记",
            "decision_document": "郑民撤〔2023〕1号",
        },
        headers=auth(),
    )
    assert revoke.status_code == 201, revoke.text

    async def terminated() -> bool:
        return await w.status(incubation_id) == "terminated"

    await wait_for(terminated)


async def test_graduation_reads_the_registrys_staff_counts(w: World) -> None:
    """issue 11 §6: a staff drop recorded in the registry blocks graduation, whatever the
    assessors tick; restored counts let it through."""
    await w.base()
    uscc = await w.register()  # 6 full-time, 2 qualified
    incubation_id = await w.admit(uscc, "301")
    await w.ok(
        "record-support",
        {
            "incubation_id": incubation_id,
            "support_type": "funding",
            "funding_type": "venture_philanthropy",
            "amount_yuan": "20000.00",
            "description": "公益创投项目资助",
            "given_on": "2023-09-15",
        },
    )

    async def staff(full_time: int, qualified: int) -> None:
        body = {"uscc": uscc, "full_time_staff": full_time, "qualified_staff": qualified}
        answer = await w.registry.post("/commands/change-agency-staff", json=body, headers=auth())
        assert answer.status_code == 201, answer.text

        async def seen() -> bool:
            agency = (await w.incubation.get(f"/agencies/{uscc}", headers=auth())).json()
            return bool(agency["staff"] == {"full_time": full_time, "qualified": qualified})

        await wait_for(seen)

    graduation = {
        "incubation_id": incubation_id,
        "assessment": ALL_MET,
        "assessment_summary": "出壳评估通过",
        "graduated_on": "2024-06-30",
    }

    async def refused_for_staff() -> bool:
        answer = await w.command("graduate-agency", graduation)
        codes = {e["code"] for e in answer.json().get("errors", [])}
        return answer.status_code == 422 and codes == {"criterion_not_met:staff_ratio_met"}

    await staff(9, 2)
    assert await refused_for_staff()
    await staff(9, 3)
    assert (await w.command("graduate-agency", graduation)).status_code == 201
