"""Demo step for issue 11: a registration-assisted group, a publication window, an annual-report
cycle and what the public page then shows.

- 注册协助: the 金水区 base takes on 惠民 (筹备中, no credit code) on 2024-07-01; it applies to a
  second call, is put to public notice (公示期 2024-07-22 to 07-26, one objection received and
  answered), admitted, moves in and is helped with its registration; the registry registers it on
  2024-11-20 naming its provisional id, and the stay follows the agency. A second group, taken on
  2024-01-10, never registers and is flagged by the scheduled check on 2024-07-11.
- 基地运营: the 金水区 base records its full-time staff (专职人员 5, 3 qualified) and its own money
  by source (财政预算 ¥300,000 for operation, 其他来源 ¥50,000 from a charity); the base records
  惠民's professional services for the second half of 2024 (提供专业服务: 2 projects, 186.5 hours,
  240 people served).
- 期满未续驻 / 长期未开展活动: 惠民's agreement ends 2025-08-04 and is neither extended nor closed,
  and nothing is recorded for it after its services of 2024-12-31: the scheduled check (run as of
  today) flags it inactive from 2025-03-31 (90 days) and past its term from 2025-08-05 — on the
  stay (`GET /incubations/{id}` on incubation) and in the 2025 half-year reports of 金水区.
- 基地运行评估: the 金水区 base's 2024 operation is evaluated (良好) with the platform's figures,
  now with its staff, funding by source and the services delivered.
- 年报: 绿城 (中原区) files its 2024 and 2025 reports through the sponsor's review in time and
  is concluded 合格 for 2024; 邻里守望 (中原区) files 2024 late. The compliance calendar
  (`GET /compliance-calendar?reporting_unit=zhongyuan` on supervision) shows what is still owed.
- The public page (reporting `/public`, no token) shows the calls, notices, admissions, lists,
  grades and the commendation recorded by the earlier steps.
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


def _id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _at(day: str) -> str:
    return f"{day}T10:00:00+08:00"


def _incubation(context: DemoContext, incubation_id: str) -> dict[str, Any] | None:
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        f"{context.urls['incubation']}/incubations/{incubation_id}",
        headers={"Authorization": f"Bearer {context.token()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            found: dict[str, Any] = json.loads(response.read())
            return found
    except urllib.error.HTTPError:
        return None


def guidance_demo(context: DemoContext) -> None:
    from devstack.demo import demo_uscc  # the registry step's code maker (no import cycle)

    base, call = _id("base:jinshui"), _id("call:jinshui-2024-2")
    group, idle = _id("group:huimin"), _id("group:kangning")
    incubation = _id("incubation:group-huimin")

    def post(service: str, command: str, key: str, day: str, body: dict[str, Any]) -> None:
        context.post(service, command, f"demo-guidance-{key}", {**body, "occurred_at": _at(day)})

    def inc(command: str, key: str, day: str, body: dict[str, Any]) -> None:
        post("incubation", command, key, day, body)

    for provisional_id, name, day in (
        (idle, "郑州市金水区康宁社会工作服务中心（筹）", "2024-01-10"),
        (group, "郑州市金水区惠民社会工作服务中心（筹）", "2024-07-01"),
    ):
        inc("record-group-in-preparation", f"group-{provisional_id}", day, {
            "provisional_id": provisional_id, "base_id": base, "name": name,
            "kind": "service_agency", "reporting_unit": "jinshui", "contact_person": "赵敏",
            "recorded_on": day})  # fmt: skip
    inc("run-scheduled-checks", "check-2024-07-11", "2024-07-11", {"as_of": "2024-07-11"})
    inc("publish-call", "call-2024-2", "2024-07-01", {
        "base_id": base, "call_id": call, "title": "2024年金水区社工机构孵化基地第二批入孵申请通知",
        "opens_on": "2024-07-05", "closes_on": "2024-07-31", "places": 1,
        "published_on": "2024-07-01"})  # fmt: skip
    inc("submit-application", "apply-huimin", "2024-07-10", {
        "incubation_id": incubation, "base_id": base, "call_id": call, "uscc": group,
        "submitted_on": "2024-07-10"})  # fmt: skip
    for stage, day in (("intake", "2024-07-11"), ("first_review", "2024-07-15"),
                       ("panel_review", "2024-07-19")):  # fmt: skip
        inc("review-application", f"{stage}-huimin", day, {
            "incubation_id": incubation, "stage": stage, "opinion": "通过",
            "reviewed_on": day})  # fmt: skip
    inc("open-public-notice", "notice-huimin", "2024-07-22", {
        "incubation_id": incubation, "starts_on": "2024-07-22",
        "ends_on": "2024-07-26"})  # fmt: skip
    inc("record-admission-objection", "objection-huimin", "2024-07-24", {
        "incubation_id": incubation, "objection_id": _id("objection:huimin"),
        "received_on": "2024-07-24",
        "summary": "来电询问筹备组是否具备专职社工，已核实并答复"})  # fmt: skip
    inc("review-application", "public-notice-huimin", "2024-07-29", {
        "incubation_id": incubation, "stage": "public_notice",
        "opinion": "公示期内异议1件，经核实不影响入孵", "reviewed_on": "2024-07-29"})  # fmt: skip
    inc("approve-application", "approve-huimin", "2024-08-01", {
        "incubation_id": incubation, "opinion": "准予入孵（注册协助）",
        "approved_on": "2024-08-01"})  # fmt: skip
    inc("sign-agreement", "sign-huimin", "2024-08-05", {
        "incubation_id": incubation, "agreement_id": _id("agreement:huimin"), "office_id": "302",
        "term_start": "2024-08-05", "term_end": "2025-08-04",
        "signed_on": "2024-08-05"})  # fmt: skip
    inc("start-incubation", "start-huimin", "2024-08-05", {
        "incubation_id": incubation, "started_on": "2024-08-05"})  # fmt: skip
    inc("record-support", "registration-help-huimin", "2024-08-20", {
        "incubation_id": incubation, "support_type": "registration_help",
        "description": "协助拟定章程、核名与准备登记材料", "given_on": "2024-08-20"})  # fmt: skip

    uscc = demo_uscc(20, "410105")
    post("registry", "register-agency", "register-huimin", "2024-11-20", {
        "uscc": uscc, "name": "郑州市金水区惠民社会工作服务中心", "kind": "service_agency",
        "reporting_unit": "jinshui", "address": "郑州市金水区纬五路21号3楼302室",
        "legal_representative": "赵敏", "charter_purpose": "运用社会工作专业方法服务社区居民",
        "charter_scope": "社区服务、老年人服务", "charter_method": "个案工作、小组工作、社区工作",
        "full_time_staff": 3, "qualified_staff": 1, "service_fields": ["community_service"],
        "target_groups": ["elderly"], "registered_on": "2024-11-20",
        "provisional_id": group})  # fmt: skip
    deadline = time.monotonic() + 60
    while (found := _incubation(context, incubation)) is None or found.get("uscc") != uscc:
        if time.monotonic() > deadline:
            raise SystemExit("demo: the assisted group's stay never moved to its credit code")
        time.sleep(0.3)

    inc("record-base-staff", "staff-jinshui-2024", "2024-01-02", {
        "base_id": base, "full_time": 5, "qualified": 3, "counted_on": "2024-01-02"})  # fmt: skip
    for key, source, payer, amount, day in (
        ("budget-2024", "budget", "郑州市金水区财政局", "300000.00", "2024-03-15"),
        ("charity-2024", "other", "郑州慈善总会", "50000.00", "2024-05-10"),
    ):
        inc("record-base-funding", f"funding-{key}", day, {
            "base_id": base, "funding_id": _id(f"base-funding:{key}"), "source": source,
            "purpose": "operation", "payer": payer, "amount_yuan": amount,
            "received_on": day})  # fmt: skip
    inc("record-professional-services", "services-huimin-2024h2", "2025-01-06", {
        "incubation_id": incubation, "record_id": _id("services:huimin-2024h2"),
        "period_start": "2024-08-05", "period_end": "2024-12-31", "projects": 2,
        "service_hours": "186.5", "beneficiaries": 240,
        "description": "“邻里守望”独居老人探访与社区互助小组"})  # fmt: skip
    inc("evaluate-base", "evaluate-jinshui-2024", "2025-01-20", {
        "base_id": base, "evaluation_id": _id("base-evaluation:jinshui-2024"),
        "period_start": "2024-01-01", "period_end": "2024-12-31", "conclusion": "good",
        "evaluator": "郑州市金水区民政局",
        "remarks": "场地利用充分，注册协助成效明显；退驻较多，需加强入孵审核与日常监管",
        "evaluated_on": "2025-01-20"})  # fmt: skip

    # As of today: 惠民's term (to 2025-08-04) ran out without an extension, and nothing was
    # recorded for it after 2024-12-31; both are flagged once, dated their own days.
    context.post("incubation", "run-scheduled-checks", "demo-guidance-check-today", {})

    lvcheng, linli = context.agencies[0][0], context.agencies[1][0]
    cycle: list[tuple[str, str, str, dict[str, Any]]] = [
        ("record-sponsor-review", "review-lvcheng-2024", "2025-03-20", {
            "uscc": lvcheng, "year": 2024, "sponsor": "郑州市中原区民政局",
            "opinion": "材料齐全，同意报送", "reviewed_on": "2025-03-20"}),
        ("file-annual-report", "file-lvcheng-2024", "2025-05-20", {
            "uscc": lvcheng, "year": 2024, "filed_on": "2025-05-20"}),
        ("conclude-annual-inspection", "conclude-lvcheng-2024", "2025-06-16", {
            "uscc": lvcheng, "inspection_id": _id("inspection:lvcheng-2024"), "year": 2024,
            "conclusion": "qualified", "concluded_on": "2025-06-16"}),
        ("file-annual-report", "file-linli-2024", "2025-06-05", {
            "uscc": linli, "year": 2024, "filed_on": "2025-06-05"}),
        ("record-sponsor-review", "review-lvcheng-2025", "2026-03-25", {
            "uscc": lvcheng, "year": 2025, "sponsor": "郑州市中原区民政局",
            "opinion": "同意报送", "reviewed_on": "2026-03-25"}),
        ("file-annual-report", "file-lvcheng-2025", "2026-05-25", {
            "uscc": lvcheng, "year": 2025, "filed_on": "2026-05-25"}),
    ]  # fmt: skip
    for command, key, day, body in cycle:
        post("supervision", command, key, day, body)
    print(
        "demo: guidance — 惠民 admitted as a group in preparation (公示 with one objection), "
        "registered and linked; 康宁 flagged unregistered; the 金水区 base's staff, funding by "
        "source and 惠民's services recorded, then its stay flagged inactive and past its term; "
        "the 金水区 base evaluated for 2024 (GET /reports/half-year?year=2024&half=year_end"
        "&unit=jinshui on reporting); "
        "an annual-report cycle in 中原区; "
        "public page at /public on reporting"
    )
