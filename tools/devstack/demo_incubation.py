"""Incubation demo step (issue #3): a base in 金水区, a call, four applicants, and their exits.

Loaded through the public HTTP API with idempotency keys, like every demo step, with historical
occurrence times. Three 金水区 agencies are admitted; a non-local applicant is refused with its
reason; support and training are recorded; 夕阳红 graduates; the registry revokes 助残, and the
incubation service's process manager ends that incubation. (The supervision step that follows
finds 启航 subletting its office, which ends the third incubation as an agreement breach.)
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.demo import DemoContext

_NAMESPACE = uuid.UUID("5d0c6f8e-3a1b-4c2d-9e7f-1a2b3c4d5e6f")
ASSESSED = ("governance_in_place", "staff_ratio_met", "annual_inspection_passed",
            "exit_assessment_passed")  # fmt: skip


def _id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _at(day: str) -> str:
    return f"{day}T10:00:00+08:00"


def _get(context: DemoContext, path: str) -> dict[str, Any] | None:
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        f"{context.urls['incubation']}{path}",
        headers={"Authorization": f"Bearer {context.token()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            found: dict[str, Any] = json.loads(response.read())
            return found
    except urllib.error.HTTPError:
        return None


def _wait(context: DemoContext, path: str, field: str, value: str) -> None:
    """Poll until the incubation service's view shows `field == value` (consumers catch up)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _get(context, path)
        if found is not None and found.get(field) == value:
            return
        time.sleep(0.3)
    raise SystemExit(f"demo: {path} never showed {field}={value}")


def incubation_demo(context: DemoContext) -> None:
    base, call = _id("base:jinshui"), _id("call:jinshui-2023")
    qihang, xiyang, zhucan = (context.agencies[i][0] for i in (5, 6, 7))
    outsider = context.agencies[2][0]  # 二七区同心: not local to 金水区
    for uscc in (qihang, xiyang, zhucan, outsider):
        _wait(context, f"/agencies/{uscc}", "status", "active")

    def post(command: str, key: str, day: str, body: dict[str, Any]) -> None:
        context.post(
            "incubation", command, f"demo-incubation-{key}", {**body, "occurred_at": _at(day)}
        )

    offices: list[dict[str, Any]] = [
        {"office_id": office, "area_m2": area}
        for office, area in (("301", "18.50"), ("302", "16.00"), ("303", "15.20"))
    ]
    offices.append({"office_id": "305", "area_m2": "62.00", "shared_room": True})
    post("establish-base", "base", "2023-03-01", {
        "base_id": base, "name": "金水区社会工作服务机构孵化基地", "level": "county",
        "reporting_unit": "jinshui", "address": "郑州市金水区花园路街道纬五路21号3楼",
        "supervising_department": "郑州市金水区民政局",
        "operator": "郑州市金水区恒善社会工作服务中心", "purchase_contract": "JSMZ-GMFW-2023-017",
        "offices": offices, "has_desks_and_chairs": True, "has_projector": True,
        "fire_safety_compliant": True, "established_on": "2023-03-01"})  # fmt: skip
    post("adopt-admission-standard", "standard-1", "2023-03-15", {
        "base_id": base, "version": 1, "agreement_template": "JSMZ-FHXY-2023-v1",
        "requirements": ["在金水区登记的初创期社工机构或社会工作协会", "专职人员三分之一以上持证"],
        "effective_from": "2023-03-15"})  # fmt: skip
    post("publish-call", "call", "2023-03-25", {
        "base_id": base, "call_id": call, "title": "2023年金水区社工机构孵化基地入孵申请通知",
        "opens_on": "2023-04-01", "closes_on": "2023-04-30", "places": 3,
        "published_on": "2023-03-25"})  # fmt: skip

    admitted = {qihang: "301", xiyang: "302", zhucan: "303"}
    ids = {uscc: _id(f"incubation:{uscc}") for uscc in (*admitted, outsider)}
    for uscc, incubation_id in ids.items():
        reason = "服务金水区来郑务工人员子女" if uscc == outsider else None
        post("submit-application", f"apply-{uscc}", "2023-04-10", {
            "incubation_id": incubation_id, "base_id": base, "call_id": call, "uscc": uscc,
            "submitted_on": "2023-04-10", "non_local_reason": reason})  # fmt: skip
    post("review-application", f"intake-{outsider}", "2023-04-12", {
        "incubation_id": ids[outsider], "stage": "intake", "opinion": "材料齐全，予以受理",
        "reviewed_on": "2023-04-12"})  # fmt: skip
    post("reject-application", f"reject-{outsider}", "2023-04-20", {
        "incubation_id": ids[outsider], "rejected_on": "2023-04-20",
        "reasons": ["本期名额优先本地机构", "服务对象主要在二七区"]})  # fmt: skip
    stages = ("intake", "first_review", "panel_review", "public_notice")
    for uscc, office in admitted.items():
        incubation_id = ids[uscc]
        for n, stage in enumerate(stages):
            day = f"2023-05-{10 + 5 * n}"
            post("review-application", f"{stage}-{uscc}", day, {
                "incubation_id": incubation_id, "stage": stage, "opinion": "通过",
                "reviewed_on": day})  # fmt: skip
        post("approve-application", f"approve-{uscc}", "2023-06-01", {
            "incubation_id": incubation_id, "opinion": "公示期满无异议，准予入孵",
            "approved_on": "2023-06-01"})  # fmt: skip
        post("sign-agreement", f"sign-{uscc}", "2023-06-20", {
            "incubation_id": incubation_id, "agreement_id": _id(f"agreement:{uscc}"),
            "office_id": office, "term_start": "2023-07-03", "term_end": "2024-07-02",
            "signed_on": "2023-06-20"})  # fmt: skip
        post("start-incubation", f"start-{uscc}", "2023-07-03", {
            "incubation_id": incubation_id, "started_on": "2023-07-03"})  # fmt: skip

    post("record-support", "seed-fund", "2023-09-15", {
        "incubation_id": ids[xiyang], "support_type": "funding",
        "funding_type": "venture_philanthropy", "amount_yuan": "50000.00",
        "description": "2023年金水区公益创投“银龄互助”项目", "given_on": "2023-09-15"})  # fmt: skip
    post("record-support", "registration-help", "2023-07-10", {
        "incubation_id": ids[qihang], "support_type": "registration_help",
        "description": "协助办理变更登记与银行开户", "given_on": "2023-07-10"})  # fmt: skip
    post("record-training", "training-1", "2023-10-20", {
        "base_id": base, "session_id": _id("training:2023-10-20"),
        "title": "社会工作服务项目设计与评估实务", "held_on": "2023-10-20", "hours": "3.5",
        "attendees": 46, "agency_usccs": list(admitted)})  # fmt: skip

    context.post("registry", "revoke-agency-registration", "demo-incubation-revoke-zhucan", {
        "uscc": zhucan, "reason": "以欺骗手段取得登记", "decision_document": "郑民罚〔2024〕5号",
        "occurred_at": _at("2024-03-15")})  # fmt: skip
    _wait(context, f"/incubations/{ids[zhucan]}", "status", "terminated")
    post("graduate-agency", "graduate-xiyang", "2024-06-30", {
        "incubation_id": ids[xiyang], "assessment": dict.fromkeys(ASSESSED, True),
        "assessment_summary": "治理结构健全，持证比例达标，公益创投项目结项良好，出壳评估通过",
        "graduated_on": "2024-06-30"})  # fmt: skip
    print(
        "demo: incubation — 金水区 base, 3 admitted, 1 refused; support and training; "
        "夕阳红 graduated; 助残 terminated after the registry revoked it"
    )
