"""Supervision demo step: a resident agency sublets its office, and what follows (issue #4).

Loaded through the public HTTP API with idempotency keys, like every demo step; the scheduled
check is run "as of" past dates so the clock-driven facts appear with their historical dates.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.demo import DemoContext

_NAMESPACE = uuid.UUID("0b7e4d7e-2f51-4f0e-8a57-5d7a3b8c1e21")


def _id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _call(context: DemoContext, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to supervision; retried while the agency is not yet known (its consumer catches up)."""
    deadline = time.monotonic() + 60
    while True:
        request = urllib.request.Request(  # noqa: S310 - loopback URL we built
            f"{context.urls['supervision']}{path}",
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {context.token()}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            text = exc.read().decode()
            if exc.code == 404 and "agency_not_found" in text and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise SystemExit(f"demo step {key} refused: {exc.code} {text}") from exc


def _at(day: str) -> str:
    return f"{day}T10:00:00+08:00"


def supervision_demo(context: DemoContext) -> None:
    subletter = context.agencies[5][0]  # 金水区启航青少年社会工作服务中心
    warned = context.agencies[0][0]  # 中原区绿城社会工作服务中心
    violation, rectification = _id("violation:qihang"), _id("rectification:qihang")
    basis = "《民办非企业单位登记管理暂行条例》第二十五条"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("conclude-annual-inspection", "inspection-2022", {
            "uscc": subletter, "inspection_id": _id("inspection:qihang-2022"), "year": 2022,
            "conclusion": "qualified", "concluded_on": "2023-05-30",
            "occurred_at": _at("2023-05-30")}),
        ("award-evaluation-grade", "grade-2023", {
            "uscc": subletter, "evaluation_id": _id("grade:qihang"), "grade": 3,
            "announced_on": "2023-11-15", "occurred_at": _at("2023-11-15")}),
        ("record-violation", "violation", {
            "uscc": subletter, "violation_id": violation, "category": "office_subletting",
            "severity": "serious", "facts": "检查发现该机构将办公室转借某培训公司开展收费培训",
            "evidence_ref": "JSMZ-JC-2024-0408-01", "found_on": "2024-04-08",
            "occurred_at": _at("2024-04-08")}),
        ("order-rectification", "rectification", {
            "uscc": subletter, "rectification_id": rectification, "violation_id": violation,
            "requirements": "立即收回办公室，提交书面整改报告", "deadline": "2024-04-30",
            "ordered_on": "2024-04-09", "document_number": "金民责改字〔2024〕第12号",
            "occurred_at": _at("2024-04-09")}),
        ("run-scheduled-checks", "check-2024-05-01", {"as_of": "2024-05-01"}),
        ("impose-penalty", "warning", {
            "uscc": subletter, "penalty_id": _id("penalty:qihang-warning"), "kind": "warning",
            "violation_id": violation, "document_number": "郑金民罚决字〔2024〕第3号",
            "legal_basis": basis, "deciding_department": "郑州市金水区民政局",
            "decided_on": "2024-05-20", "occurred_at": _at("2024-05-20")}),
        ("impose-penalty", "suspension", {
            "uscc": subletter, "penalty_id": _id("penalty:qihang-suspension"),
            "kind": "suspension", "suspended_until": "2024-09-30", "violation_id": violation,
            "document_number": "郑金民罚决字〔2024〕第9号", "legal_basis": basis,
            "deciding_department": "郑州市金水区民政局", "decided_on": "2024-07-01",
            "occurred_at": _at("2024-07-01")}),
        ("impose-penalty", "small-fine", {
            "uscc": warned, "penalty_id": _id("penalty:lvcheng-fine"), "kind": "fine",
            "amount_yuan": "3000.00", "document_number": "郑中民罚决字〔2023〕第1号",
            "legal_basis": basis, "deciding_department": "郑州市中原区民政局",
            "decided_on": "2023-03-01", "occurred_at": _at("2023-03-01")}),
        ("record-government-project", "project", {
            "uscc": warned, "project_id": _id("project:lvcheng"), "name": "中原区社区养老服务项目",
            "purchaser": "郑州市中原区民政局", "amount_yuan": "180000.00",
            "start_on": "2024-03-01", "end_on": "2025-02-28", "occurred_at": _at("2024-03-01")}),
        ("evaluate-project-performance", "performance", {
            "uscc": warned, "evaluation_id": _id("performance:lvcheng"),
            "project_id": _id("project:lvcheng"), "project_name": "中原区社区养老服务项目",
            "score": "86.5", "conclusion": "good", "evaluator": "河南省社会工作评估中心",
            "evaluated_on": "2025-03-20", "occurred_at": _at("2025-03-20")}),
        ("record-commendation", "commendation", {
            "uscc": warned, "commendation_id": _id("commendation:lvcheng"),
            "title": "郑州市优秀社会工作服务机构", "awarding_body": "郑州市民政局",
            "awarded_on": "2025-12-20", "occurred_at": _at("2025-12-20")}),
        ("run-scheduled-checks", "check-today", {}),
    ]  # fmt: skip
    for command, key, body in steps:
        _call(context, f"/commands/{command}", f"demo-supervision-{key}", body)
    print(
        "demo: supervision — subletting → overdue → warning → serious list; "
        "a small fine → abnormal list → automatic exit after 6 months"
    )
