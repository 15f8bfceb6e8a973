"""Views of one credit file as of a day: JSON for the API and a printable Chinese report."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any

from services.supervision.domain import inspection, rules
from services.supervision.domain.commands import KnownAgency
from services.supervision.domain.credit_file import CreditFile, Grade, Listing
from services.supervision.domain.policy import credit_policy, grade_policy

LIST_ZH = {"abnormal": "活动异常名录", "serious": "严重违法失信名单"}
PENALTY_ZH = {
    "warning": "警告",
    "fine": "罚款",
    "confiscation": "没收违法所得或非法财产",
    "suspension": "限期停止活动",
    "revocation": "撤销登记",
}
CONCLUSION_ZH = {
    "qualified": "合格",
    "basically_qualified": "基本合格",
    "unqualified": "不合格",
    "filed": "已报送",
    "not_filed": "未报送",
}
GROUND_ZH = {
    "annual_report_not_filed": "未按时报送年度工作报告",
    "rectification_overdue": "逾期未整改",
    "warning_or_small_fine": "受到警告或5万元以下罚款",
    "unreachable": "通过登记住所无法联系",
    "no_party_organisation": "未按规定建立党组织",
    "abnormal_two_years": "列入活动异常名录满2年",
    "suspension": "受到限期停止活动处罚",
    "large_fine": "受到5万元以上罚款",
    "repeated_penalties": "3年内2次以上警告或较小数额罚款",
    "revoked": "被撤销登记",
    "dishonest_debtor": "失信被执行人",
    "fraudulent_change": "以欺骗等手段取得变更登记",
}
REMOVAL_ZH = {
    "rectification_verified": "整改核实后移出",
    "six_months_elapsed": "满6个月自动移出",
    "escalated_to_serious": "转入严重违法失信名单",
    "two_years_no_new_ground": "满2年无新情形申请移出",
    "deregistration_completed": "撤销后完成注销",
    "decision_withdrawn": "列入决定被撤销或纠正",
}
PERFORMANCE_ZH = {"excellent": "优秀", "good": "良好", "qualified": "合格", "unqualified": "不合格"}
STATUS_ZH = {"open": "整改中", "confirmed": "已整改", "overdue": "逾期未整改"}
CATEGORY_ZH = {
    "acting_against_charter": "违反章程或超出业务范围",
    "fund_fraud_or_misuse": "骗取、挪用政府购买服务资金或捐赠",
    "false_information": "发布虚假信息",
    "infringing_recipients": "侵害服务对象权益",
    "commercial_activity": "从事营利性经营活动",
    "office_subletting": "转租、转借、调换或与他人共用办公室",
    "premises_altered": "擅自改变场地",
    "unrelated_activity": "开展与社会工作无关的活动",
    "refusing_inspection": "拒绝监督检查",
    "qualified_staff_below_ratio": "持证或具社工本科以上学历的专职人员不足三分之一",
}


def _listing_view(x: Listing, day: dt.date) -> dict[str, Any]:
    # As of `day`, a removal recorded for a later day has not happened yet.
    removed = x.removed_on if x.removed_on is not None and x.removed_on <= day else None
    policy = credit_policy(x.clock_from)
    still = x if removed is not None else _reopened(x)
    return {
        **asdict(x),
        "removed_on": removed,
        "removal_reason": x.removal_reason if removed else None,
        "auto_exit_on": rules.auto_exit_on(still, policy),
        "escalation_on": rules.escalation_on(still, policy),
        "serious_exit_from": rules.serious_exit_from(still, policy),
    }


def _reopened(x: Listing) -> Listing:
    return replace(x, removed_on=None, removal_reason=None, removal_detail=None)


def _exact(value: Any) -> Any:
    """Money and scores as exact decimal strings (never JSON floats)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    return value


GRADE_STATUS_ZH = {
    "valid": "有效",
    "suspended": "列入严重违法失信名单期间暂停",
    "expired": "已过期",
    "not_yet_valid": "尚未生效",
}


def grade_status(grade: Grade, day: dt.date, on_serious_list: bool) -> str:
    """valid | suspended (on the serious list, by the grade rule in force) | expired |
    not_yet_valid, as of `day`."""
    if day < grade.valid_from:
        return "not_yet_valid"
    if day > grade.valid_to:
        return "expired"
    if on_serious_list and grade_policy(day).on_serious_listing == "suspended":
        return "suspended"
    return "valid"


def credit_file_view(
    file: CreditFile | None, agency: KnownAgency | None, day: dt.date, uscc: str
) -> dict[str, Any]:
    """The whole credit file as of `day` (already folded from the facts known then)."""
    file = file or CreditFile(uscc=uscc)
    listings = [_listing_view(x, day) for x in file.listings if x.listed_on <= day]
    serious = any(x["list"] == "serious" and x["removed_on"] is None for x in listings)
    grades = [{**asdict(g), "status": grade_status(g, day, serious)} for g in file.grades]
    current_grade = next(
        (g for g in reversed(grades) if g["status"] in ("valid", "suspended")), None
    )
    proposals: list[int] = []
    if agency is not None:
        proposals = inspection.revocation_proposed(
            agency.registered_on,
            [(i.year, i.conclusion) for i in file.inspections],
            day.year - 1,
        )
    view: dict[str, Any] = {
        "uscc": file.uscc,
        "as_of": day,
        "agency": asdict(agency) if agency else None,
        "violations": [asdict(v) for v in file.violations],
        "rectifications": [asdict(r) for r in file.rectifications],
        "penalties": [asdict(p) for p in file.penalties],
        "listings": listings,
        "on_lists": sorted({x["list"] for x in listings if x["removed_on"] is None}),
        "inspections": [asdict(i) for i in file.inspections],
        "grades": grades,
        "commendations": [asdict(c) for c in file.commendations],
        "government_projects": [asdict(p) for p in file.projects],
        "performance_evaluations": [asdict(e) for e in file.performance],
        "follow_up_evaluations": [asdict(f) for f in file.follow_ups],
        "current_grade": current_grade,
        "revocation_proposed_for_years": proposals,
    }
    exact: dict[str, Any] = _exact(view)
    return exact


def credit_report(
    file: CreditFile | None, agency: KnownAgency | None, day: dt.date, uscc: str
) -> str:
    """A plain-text report in Chinese, for printing (信用报告)."""
    view = credit_file_view(file, agency, day, uscc)
    name = agency.name if agency else "（未知机构）"
    lines = [
        "社会组织信用报告",
        "=" * 24,
        f"机构名称：{name}",
        f"统一社会信用代码：{uscc}",
        f"截至日期：{day.isoformat()}",
        "",
        "一、名录状态",
        *_listing_lines(view),
        "",
        "二、违规记录",
        *_violation_lines(view),
        "",
        "三、责令整改",
        *_rectification_lines(view),
        "",
        "四、行政处罚",
        *_penalty_lines(view),
        "",
        "五、年度检查",
        *_inspection_lines(view),
        "",
        "六、评估等级",
        *_grade_lines(view),
        "",
        "七、表彰奖励与承接政府项目",
        *_other_record_lines(view),
        "",
        "（本报告依据诚信档案截至上述日期已记录的事实生成）",
    ]
    return "\n".join(lines) + "\n"


def _listing_lines(view: dict[str, Any]) -> list[str]:
    on = view["on_lists"]
    lines = ["  当前：" + ("、".join(LIST_ZH[x] for x in on) if on else "未列入任何名录")]
    for x in view["listings"]:
        reason = REMOVAL_ZH.get(x["removal_reason"] or "", "其他")
        end = f"至{x['removed_on']}（{reason}）" if x["removed_on"] else "至今"
        ground = GROUND_ZH.get(x["ground"], "其他法定情形")
        lines.append(f"  {LIST_ZH[x['list']]}：{x['listed_on']}起{end}，事由：{ground}")
    return lines


def _violation_lines(view: dict[str, Any]) -> list[str]:
    return [
        f"  {v['found_on']} {CATEGORY_ZH.get(v['category'], '其他')}：{v['facts']}"
        f"（证据：{v['evidence_ref']}）"
        for v in view["violations"]
    ]


def _rectification_lines(view: dict[str, Any]) -> list[str]:
    return [
        f"  {r['ordered_on']}下达，期限{r['deadline']}，{STATUS_ZH[r['status']]}："
        f"{r['requirements']}"
        for r in view["rectifications"]
    ]


def _penalty_lines(view: dict[str, Any]) -> list[str]:
    lines = []
    for p in view["penalties"]:
        amount = f"，金额{p['amount_yuan']}元" if p["amount_yuan"] is not None else ""
        lines.append(
            f"  {p['decided_on']} {PENALTY_ZH[p['kind']]}{amount}，{p['document_number']}，"
            f"{p['deciding_department']}，依据{p['legal_basis']}"
        )
    return lines


def _inspection_lines(view: dict[str, Any]) -> list[str]:
    lines = [
        f"  {i['year']}年度：{CONCLUSION_ZH[i['conclusion']]}（{i['concluded_on']}）"
        for i in view["inspections"]
    ]
    if view["revocation_proposed_for_years"]:
        years = "、".join(str(y) for y in view["revocation_proposed_for_years"])
        lines.append(f"  连续两年未参加或不合格，建议撤销登记（{years}年度）")
    return lines


def _grade_lines(view: dict[str, Any]) -> list[str]:
    return [
        f"  {g['grade']}A，有效期{g['valid_from']}至{g['valid_to']}"
        f"（{GRADE_STATUS_ZH[g['status']]}）"
        for g in view["grades"]
    ]


def _other_record_lines(view: dict[str, Any]) -> list[str]:
    return [
        *(
            f"  {c['awarded_on']} {c['title']}（{c['awarding_body']}）"
            for c in view["commendations"]
        ),
        *(
            f"  {p['start_on']}至{p['end_on']} {p['name']}，{p['purchaser']}，{p['amount_yuan']}元"
            for p in view["government_projects"]
        ),
        *(
            f"  绩效评价 {e['project_name']}：{e['score']}分，{PERFORMANCE_ZH[e['conclusion']]}"
            for e in view["performance_evaluations"]
        ),
        *(
            f"  出壳跟进评估 {f['evaluated_on']}：{PERFORMANCE_ZH[f['conclusion']]}"
            for f in view["follow_up_evaluations"]
        ),
    ]
