"""Done-when (issue #4), end to end on the real broker: a resident agency sublets its office.

Violation -> rectification with a deadline -> the deadline passes -> the scheduled check makes it
overdue by itself (and lists the agency) -> a warning -> a later suspension puts it on the
serious list (what the incubation service ends the incubation on). Every step is read back off
`socialwork.supervision.events`, valid against the exported schemas; the credit file as of an
earlier date shows what was known then.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from socialwork_contracts.topics import SUPERVISION

from servicekit.auth import Role
from tests.integration.kafka_reader import read_until, validate_message
from tests.integration.supervision.conftest import Apps
from tests.support import auth

pytestmark = pytest.mark.infra
BASE = str(uuid.uuid4())
CHECKS = "/commands/run-scheduled-checks"


def at(day: str) -> str:
    return f"{day}T10:00:00+08:00"


async def test_resident_agency_subletting_its_office(apps: Apps) -> None:
    uscc = await apps.register(4101)
    await apps.resident(uscc, BASE, dt.date(2024, 1, 2))
    api = apps.supervision
    violation_id, rectification_id = str(uuid.uuid4()), str(uuid.uuid4())

    # The base operator reports the subletting it found at its own base.
    found = await api.post(
        "/commands/record-violation",
        json={
            "uscc": uscc,
            "violation_id": violation_id,
            "category": "office_subletting",
            "severity": "serious",
            "facts": "检查发现该机构将302办公室转借某培训公司开展收费培训",
            "evidence_ref": "JSMZ-JC-2024-0408-01",
            "found_on": "2024-04-08",
            "occurred_at": at("2024-04-08"),
        },
        headers=auth(Role.BASE_OPERATOR, base=BASE),
    )
    assert found.status_code == 201, found.text
    officer = auth(Role.UNIT_OFFICER, unit="jinshui")
    ordered = await api.post(
        "/commands/order-rectification",
        json={
            "uscc": uscc,
            "rectification_id": rectification_id,
            "violation_id": violation_id,
            "requirements": "立即收回302办公室，提交书面整改报告",
            "deadline": "2024-04-30",
            "ordered_on": "2024-04-09",
            "occurred_at": at("2024-04-09"),
        },
        headers=officer,
    )
    assert ordered.status_code == 201, ordered.text

    # On the deadline nothing happens; the day after, time alone makes it overdue — once.
    on_deadline = await api.post(CHECKS, json={"as_of": "2024-04-30"}, headers=auth())
    assert on_deadline.json()["overdue"] == []
    after = await api.post(CHECKS, json={"as_of": "2024-05-01"}, headers=auth())
    assert after.json()["overdue"] == [rectification_id]
    again = await api.post(CHECKS, json={"as_of": "2024-05-02"}, headers=auth())
    assert again.json() == {
        "as_of": "2024-05-02",
        "overdue": [],
        "removed": [],
        "escalated": [],
        "reports_overdue": [],
        "succeeded": 0,
        "skipped": 0,
        "failed": 0,
        "failures": [],
    }

    abnormal = (
        await api.get(
            "/credit-lists/abnormal", params={"as_of": "2024-05-01"}, headers=auth(Role.AUDITOR)
        )
    ).json()
    assert [(x["uscc"], x["ground"], x["listed_on"]) for x in abnormal["items"]] == [
        (uscc, "rectification_overdue", "2024-05-01")
    ]

    penalty = {
        "uscc": uscc,
        "kind": "warning",
        "violation_id": violation_id,
        "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条第一款",
        "deciding_department": "郑州市金水区民政局",
    }
    warned = await api.post(
        "/commands/impose-penalty",
        json={
            **penalty,
            "penalty_id": str(uuid.uuid4()),
            "document_number": "郑金民罚决字〔2024〕第3号",
            "decided_on": "2024-05-20",
            "occurred_at": at("2024-05-20"),
        },
        headers=officer,
    )
    assert warned.status_code == 201, warned.text
    suspended = await api.post(
        "/commands/impose-penalty",
        json={
            **penalty,
            "penalty_id": str(uuid.uuid4()),
            "kind": "suspension",
            "suspended_until": "2024-09-30",
            "document_number": "郑金民罚决字〔2024〕第9号",
            "decided_on": "2024-07-01",
            "occurred_at": at("2024-07-01"),
        },
        headers=officer,
    )
    assert suspended.status_code == 201, suspended.text
    assert [e["type"] for e in suspended.json()["events"]] == [
        "PenaltyImposed.v1",
        "AgencyListed.v1",
    ]

    # Each step is an event on Kafka, in order, valid against the exported schemas.
    records = await read_until(
        apps.kafka, SUPERVISION.name, lambda r: r.key == uscc.encode(), count=8
    )
    messages = [validate_message(r.value) for r in records]
    assert [m["type"].split(".")[0] for m in messages] == [
        "ViolationRecorded",
        "RectificationOrdered",
        "RectificationOverdue",
        "AgencyListed",
        "PenaltyImposed",
        "ListingClockRestarted",
        "PenaltyImposed",
        "AgencyListed",
    ]
    assert messages[0]["data"]["base_id"] == BASE
    assert messages[2]["actor"] == "system:supervision-clock"
    assert messages[2]["data"]["overdue_on"] == "2024-05-01"
    serious = messages[7]["data"]
    assert (serious["list"], serious["ground"], serious["listed_on"]) == (
        "serious",
        "suspension",
        "2024-07-01",
    )
    assert len({r.partition for r in records}) == 1
    assert [json.loads(r.value)["streamversion"] for r in records] == list(range(1, 9))

    # The credit file as of earlier dates shows what was known then.
    before_overdue = (
        await api.get(f"/credit-files/{uscc}", params={"as_of": "2024-04-30"}, headers=auth())
    ).json()
    assert before_overdue["rectifications"][0]["status"] == "open"
    assert before_overdue["on_lists"] == [] and before_overdue["penalties"] == []
    in_may = (
        await api.get(f"/credit-files/{uscc}", params={"as_of": "2024-06-01"}, headers=auth())
    ).json()
    assert in_may["on_lists"] == ["abnormal"] and len(in_may["penalties"]) == 1
    listing = in_may["listings"][0]
    assert (listing["listed_on"], listing["clock_from"], listing["escalation_on"]) == (
        "2024-05-01",
        "2024-05-20",
        "2026-05-20",
    )
    now = (await api.get(f"/credit-files/{uscc}", headers=auth())).json()
    assert now["on_lists"] == ["abnormal", "serious"]
    # As recorded just after the overdue listing (before the warning was entered).
    recorded = {"recorded_as_of": messages[3]["recordedtime"]}
    known_then = (await api.get(f"/credit-files/{uscc}", params=recorded, headers=auth())).json()
    assert known_then["penalties"] == [] and known_then["on_lists"] == ["abnormal"]

    report = await api.get(f"/credit-files/{uscc}/report", headers=auth(Role.AUDITOR))
    assert "严重违法失信名单" in report.text and "转借" in report.text
    coming = (
        await api.get(
            "/credit-lists-coming",
            params={"as_of": "2026-01-01", "within_days": 365},
            headers=auth(),
        )
    ).json()
    assert [(x["kind"], x["due_on"]) for x in coming["items"] if x["uscc"] == uscc] == [
        ("escalation", "2026-05-20")
    ]
    due = (await api.get("/rectifications", params={"as_of": "2024-06-01"}, headers=auth())).json()
    assert [r["rectification_id"] for r in due["overdue"]] == [rectification_id]


async def test_unknown_agency_and_scope(apps: Apps) -> None:
    uscc = await apps.register(4102)
    body = {
        "uscc": uscc,
        "violation_id": str(uuid.uuid4()),
        "category": "commercial_activity",
        "severity": "minor",
        "facts": "开展收费培训",
        "evidence_ref": "E-1",
        "found_on": "2024-03-01",
    }
    unknown = await apps.supervision.post(
        "/commands/record-violation", json={**body, "uscc": "52410105MA0000000X"}, headers=auth()
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "agency_not_found"
    elsewhere = await apps.supervision.post(
        "/commands/record-violation", json=body, headers=auth(Role.UNIT_OFFICER, unit="erqi")
    )
    assert elsewhere.status_code == 403
    not_resident = await apps.supervision.post(
        "/commands/record-violation", json=body, headers=auth(Role.BASE_OPERATOR, base=BASE)
    )
    assert not_resident.status_code == 403
    auditor = await apps.supervision.post(
        "/commands/record-violation", json=body, headers=auth(Role.AUDITOR)
    )
    assert auditor.status_code == 403
    checks = await apps.supervision.post(
        CHECKS, json={}, headers=auth(Role.UNIT_OFFICER, unit="jinshui")
    )
    assert checks.status_code == 403
    ok = await apps.supervision.post("/commands/record-violation", json=body, headers=auth())
    assert ok.status_code == 201 and ok.json()["events"][0]["type"] == "ViolationRecorded.v1"

    # A fine keeps its exact amount; a graduate gets a follow-up evaluation (guidance §6.2).
    fine = await apps.supervision.post(
        "/commands/impose-penalty",
        json={
            "uscc": uscc,
            "penalty_id": str(uuid.uuid4()),
            "kind": "fine",
            "amount_yuan": "1234.50",
            "document_number": "罚1",
            "legal_basis": "条例",
            "deciding_department": "郑州市民政局",
            "decided_on": "2024-03-05",
            "occurred_at": at("2024-03-05"),
        },
        headers=auth(),
    )
    assert fine.status_code == 201, fine.text
    follow_up = {
        "uscc": uscc,
        "evaluation_id": str(uuid.uuid4()),
        "findings": "运营良好",
        "conclusion": "good",
        "evaluated_on": "2024-12-01",
    }
    early = await apps.supervision.post(
        "/commands/record-follow-up-evaluation", json=follow_up, headers=auth()
    )
    assert early.status_code == 422 and early.json()["errors"][0]["code"] == "not_graduated"
    incubation_id = await apps.resident(uscc, BASE, dt.date(2023, 1, 3))
    await apps.graduated(uscc, BASE, incubation_id, dt.date(2024, 6, 30))
    later = await apps.supervision.post(
        "/commands/record-follow-up-evaluation", json=follow_up, headers=auth()
    )
    assert later.status_code == 201, later.text
    file = (await apps.supervision.get(f"/credit-files/{uscc}", headers=auth())).json()
    assert file["penalties"][0]["amount_yuan"] == "1234.50"
    assert file["follow_up_evaluations"][0]["base_id"] == BASE
