"""The reporting service on the real broker and database: a known history, hand-counted."""

from __future__ import annotations

import io
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook
from socialwork_contracts import incubation as inc
from socialwork_contracts.topics import INCUBATION, dead_letter_topic

from servicekit.auth import Role
from servicekit.settings import ServiceSettings
from services.reporting.cli import run_checksum, run_replay
from tests.conftest import Infra
from tests.integration.kafka_reader import read_until
from tests.integration.reporting.dataset import (
    A5,
    A6,
    EXPECTED_ZHONGYUAN,
    A,
    Published,
    at,
    envelope,
    ident,
    known_history,
    publish,
    registered,
)
from tests.support import auth, wait_for

pytestmark = pytest.mark.infra

MID_2011 = "/reports/half-year?year=2011&half=mid_year&unit=zhongyuan"


async def zhongyuan(client: httpx.AsyncClient, extra: str = "") -> dict[str, Any]:
    response = await client.get(MID_2011 + extra, headers=auth())
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()["units"][0]
    return row


async def publish_odd_messages(producer: AIOKafkaProducer) -> None:
    """An event type this build does not know, a TrainingDelivered that fails its schema, and
    one whose title holds U+0000 (valid by the contract; no text column can hold it)."""
    training = Published(
        "bad-training",
        inc.TrainingDelivered(
            base_id=ident("base-zhongyuan"),
            session_id=ident("bad"),
            title="x",
            held_on=at("2011-04-11").date(),
            hours="1",
            attendees=1,
            agency_usccs=[],
        ),
        at("2011-04-11"),
        at("2011-04-11"),
    )
    bad = envelope(training, 99).model_dump(mode="json")
    bad["data"]["attendees"] = "many"
    bad["streamid"] = bad["subject"] = "bad-training"  # the key is the stream id
    import json

    await producer.send_and_wait(INCUBATION.name, json.dumps(bad).encode(), key=b"bad-training")
    nul = Published(
        "nul-training",
        training.event.model_copy(update={"session_id": ident("nul"), "title": "a\u0000b"}),
        at("2011-04-11"),
        at("2011-04-11"),
    )
    unstorable = envelope(nul, 101).model_dump(mode="json")
    unstorable["streamid"] = unstorable["subject"] = "nul-training"
    await producer.send_and_wait(
        INCUBATION.name, json.dumps(unstorable).encode(), key=b"nul-training"
    )
    unknown = envelope(
        Published("renamed", training.event, at("2011-04-12"), at("2011-04-12")),
        100,
        type_key="BaseRenamed.v1",
    )
    await producer.send_and_wait(
        INCUBATION.name, unknown.model_dump_json().encode(), key=unknown.streamid.encode()
    )


async def test_known_history_replay_exports_and_as_of(
    reporting: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    infra: Infra,
    database_url: str,
) -> None:
    await publish(producer, known_history())
    await publish_odd_messages(producer)

    async def caught_up() -> bool:
        row = await zhongyuan(reporting)
        return all(row[k] == v for k, v in EXPECTED_ZHONGYUAN.items())

    await wait_for(caught_up, timeout=60)

    # As recorded on 2011-07-05 (the day the report was submitted): the deregistration entered
    # on 2012-01-10 and backdated to 2011-06-20 is not there yet.
    submitted = await zhongyuan(reporting, "&recorded_until=2011-07-05")
    assert submitted["agencies_registered"] == 4
    assert submitted["agencies_deregistered_or_revoked"] == 0
    assert submitted["funding_total_yuan"] == "62000.50"

    # By occurrence: on 2011-03-31 only the first incubation had started.
    targets = (await reporting.get("/reports/targets?as_of=2011-03-31", headers=auth())).json()
    by_id = {t["id"]: t for t in targets["targets"]}
    base_row = next(
        b
        for b in by_id["base_local_incubation"]["bases"]
        if b["base_id"] == ident("base-zhongyuan")
    )
    assert (base_row["local_agencies"], base_row["missing"], base_row["status"]) == (
        1,
        2,
        "in_progress",
    )
    targets = (await reporting.get("/reports/targets?as_of=2011-06-30", headers=auth())).json()
    by_id = {t["id"]: t for t in targets["targets"]}
    base_row = next(
        b
        for b in by_id["base_local_incubation"]["bases"]
        if b["base_id"] == ident("base-zhongyuan")
    )
    assert (base_row["local_agencies"], base_row["status"]) == (3, "met")
    zhongyuan_unit = next(
        u for u in by_id["district_bases"]["units"] if u["reporting_unit"] == "zhongyuan"
    )
    assert zhongyuan_unit["met"] and "中原区" not in by_id["district_bases"]["missing"]
    assert "巩义市" in by_id["county_bases"]["missing"]
    assert by_id["city_agencies"]["achieved"] >= 4  # A0..A2 and A5 (other tests add later years)

    # Exports with Chinese headers.
    csv_response = await reporting.get(MID_2011 + "&format=csv", headers=auth())
    assert csv_response.headers["content-type"].startswith("text/csv")
    header = csv_response.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:3] == ["统计单位代码", "统计单位", "运营中基地数"]
    xlsx = await reporting.get(
        "/reports/credit-listings?as_of=2011-06-30&format=xlsx", headers=auth()
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("统一社会信用代码", "机构名称", "统计单位", "名录")
    assert any(r[0] == A[3] and r[3] == "活动异常名录" for r in rows[1:])

    # Scope: a unit officer reads only its own unit; no token, no data.
    officer = auth(Role.UNIT_OFFICER, unit="gongyi")
    assert (await reporting.get(MID_2011, headers=officer)).status_code == 403
    own = await reporting.get("/reports/half-year?year=2011", headers=officer)
    assert [u["reporting_unit"] for u in own.json()["units"]] == ["gongyi"]
    assert own.json()["units"][0]["agencies_new"] == 1 and own.json()["city"] is None
    assert (await reporting.get(MID_2011)).status_code == 401

    # The unknown type was skipped with a record; the schema-failing event dead-lettered.
    conn = await asyncpg.connect(database_url)
    try:
        # Nothing above waits for the unknown type's partition (key "x"): wait for its record.
        async def recorded() -> bool:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM reporting.skipped_events WHERE event_id = $1",
                    ident("event-renamed"),
                )
            )

        await wait_for(recorded, timeout=30)
        skipped = await conn.fetch(
            "SELECT event_type FROM reporting.skipped_events WHERE event_id = $1",
            ident("event-renamed"),
        )
        assert [r["event_type"] for r in skipped] == ["BaseRenamed.v1"]

        # Nor for the bad record's partition (key "bad-training"): wait for its dead letter too.
        async def dead_lettered() -> int:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM reporting.dead_letters WHERE key = 'bad-training'"
                )
            )

        assert await wait_for(dead_lettered, timeout=30) == 1
    finally:
        await conn.close()
    dlq = await read_until(
        infra.kafka, dead_letter_topic("reporting"), lambda r: r.key == b"bad-training", count=1
    )
    assert dlq and "attendees" in dict(dlq[0].headers)["dlq_error"].decode()
    # The U+0000 title: refused where its fact is made (facts.storable), the records after it
    # applied; the rebuilds below refuse it alike, or their checksums would differ.
    nul = await read_until(
        infra.kafka, dead_letter_topic("reporting"), lambda r: r.key == b"nul-training", count=1
    )
    assert nul and dict(nul[0].headers)["dlq_error"].decode().startswith("UnstorableText")

    # A rebuild from offset 0 equals the live projection, bit for bit; then switch over to it.
    settings = ServiceSettings()
    compared = await run_checksum(settings, rebuild=True)
    assert compared["equal"], (compared["live"], compared["rebuilt"])
    # The bulk load split by partition over two processes (the fast replay) equals it too.
    sharded = await run_checksum(settings, rebuild=True, workers=2)
    assert sharded["equal"], (sharded["live"], sharded["rebuilt"])
    before = (await reporting.get(MID_2011, headers=auth())).json()
    outcome = await run_replay(settings, switch=True, keep=2, workers=2)
    assert outcome["switched"] and outcome["generation"] == "reporting_g2"
    # The switch-over kept folded states for the new generation (foldworker.py): a report of a
    # new date starts from one, not from the first fact.
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM reporting_g2.checkpoints") > 0
    finally:
        await conn.close()
    # The sharded load still dead-letters the schema-failing event and the U+0000 title, and
    # skips the unknown type.
    skipped_count = outcome["skipped"]
    assert outcome["dead_lettered"] == 2, outcome
    assert isinstance(skipped_count, int) and skipped_count >= 1, outcome
    assert (await reporting.get(MID_2011, headers=auth())).json() == before

    # The live consumer goes on folding into the new generation after the switch.
    await publish(producer, [registered(6, A6, "zhongyuan", "410102", "2011-06-25")])

    async def visible() -> bool:
        response = await reporting.get(f"/agencies/{A6}", headers=auth())
        return response.status_code == 200

    await wait_for(visible, timeout=30)
    status = (await reporting.get("/projection/status", headers=auth())).json()
    assert status["generation"] == "reporting_g2"
    assert (await zhongyuan(reporting))["agencies_new"] == 5
    final = await run_checksum(settings, rebuild=False)
    assert final["generation"] == "reporting_g2"
    assert A5  # registered in 巩义市, counted for the officer above
