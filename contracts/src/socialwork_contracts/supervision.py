"""Events published by the supervision service (topic `socialwork.supervision.events`).

The stream (aggregate) of every event here is one agency's credit file (诚信档案), keyed by its
unified social credit code, so all supervision facts about one agency arrive in order.
Listings are intervals (AgencyListed ... AgencyDelisted), never a status flag.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field

from socialwork_contracts.base import DecimalString, DomainEvent

Severity = Literal["minor", "serious", "grave"]
CreditList = Literal["abnormal", "serious"]
PenaltyKind = Literal["warning", "fine", "confiscation", "suspension", "revocation"]
InspectionConclusion = Literal[
    "qualified", "basically_qualified", "unqualified", "filed", "not_filed"
]

_USCC = "统一社会信用代码 (GB 32100-2015) of the agency; the stream id (its credit file)"
_LIST = "名录: abnormal 活动异常名录 | serious 严重违法失信名单"
_LISTING_ID = "列入记录 id (UUID): one interval on one list, from listing to removal"
_VIOLATION_ID = "违规记录 id (UUID) of the violation"
_RECTIFICATION_ID = "整改 id (UUID) of the rectification order"

VIOLATION_CATEGORIES = (
    "acting_against_charter",
    "fund_fraud_or_misuse",
    "false_information",
    "infringing_recipients",
    "commercial_activity",
    "office_subletting",
    "premises_altered",
    "unrelated_activity",
    "refusing_inspection",
    "qualified_staff_below_ratio",
    "other",
)


class _SupervisionEvent(DomainEvent):
    producer: ClassVar[str] = "supervision"
    stream_field: ClassVar[str] = "uscc"


class ViolationRecorded(_SupervisionEvent):
    """A violation was found and recorded (违规行为); guidance §6.2."""

    event_type: ClassVar[str] = "ViolationRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "found_on"

    violation_id: str = Field(description=_VIOLATION_ID)
    uscc: str = Field(description=_USCC)
    category: str = Field(
        description="违规类别 id (guidance §6.2): acting_against_charter 违反章程或超出业务范围 | "
        "fund_fraud_or_misuse 骗取、挪用政府购买服务资金或捐赠 | false_information 发布虚假信息 | "
        "infringing_recipients 侵害服务对象权益 | commercial_activity 从事营利性经营活动 | "
        "office_subletting 转租、转借、调换或与他人共用办公室 | premises_altered 擅自改变场地 | "
        "unrelated_activity 开展与社会工作无关的活动 | refusing_inspection 拒绝监督检查 | "
        "qualified_staff_below_ratio 持证专职人员不足三分之一 (recorded by supervision when the "
        "registry records QualifiedStaffShareFellShort) | other 其他. Consumers must accept ids "
        "added later."
    )
    severity: Severity = Field(description="严重程度: minor 轻微 | serious 严重 | grave 特别严重")
    facts: str = Field(description="违规事实 what was found")
    evidence_ref: str = Field(
        description="证据 reference to the evidence (file number or document store id)"
    )
    base_id: str | None = Field(
        default=None,
        description="孵化基地 id when the violation happened in or concerns a base; null otherwise",
    )
    found_on: dt.date = Field(description="发现日期 date the violation was found")


class RectificationOrdered(_SupervisionEvent):
    """The agency was ordered to correct a violation by a deadline (责令改正)."""

    event_type: ClassVar[str] = "RectificationOrdered"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "ordered_on"

    rectification_id: str = Field(description=_RECTIFICATION_ID)
    uscc: str = Field(description=_USCC)
    violation_id: str = Field(description=_VIOLATION_ID + " being corrected")
    requirements: str = Field(description="整改要求 what must be corrected")
    deadline: dt.date = Field(
        description="整改期限 last day to complete it (inclusive, local date)"
    )
    document_number: str | None = Field(default=None, description="责令改正通知书文号, if issued")
    ordered_on: dt.date = Field(description="下达日期 date the order was issued")


class RectificationConfirmed(_SupervisionEvent):
    """Rectification was verified as done (整改到位)."""

    event_type: ClassVar[str] = "RectificationConfirmed"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "confirmed_on"

    rectification_id: str = Field(description=_RECTIFICATION_ID)
    uscc: str = Field(description=_USCC)
    violation_id: str = Field(description=_VIOLATION_ID)
    verification: str = Field(description="核查意见 how the correction was verified")
    confirmed_on: dt.date = Field(description="核查确认日期 date it was verified")


class RectificationOverdue(_SupervisionEvent):
    """The deadline passed without verified rectification (逾期未整改); the clock alone emits it."""

    event_type: ClassVar[str] = "RectificationOverdue"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "overdue_on"

    rectification_id: str = Field(description=_RECTIFICATION_ID)
    uscc: str = Field(description=_USCC)
    violation_id: str = Field(description=_VIOLATION_ID)
    deadline: dt.date = Field(description="整改期限 the deadline that passed")
    overdue_on: dt.date = Field(description="逾期日期 first day after the deadline")


class PenaltyImposed(_SupervisionEvent):
    """An administrative penalty was decided (行政处罚)."""

    event_type: ClassVar[str] = "PenaltyImposed"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "decided_on"

    penalty_id: str = Field(description="行政处罚 id (UUID)")
    uscc: str = Field(description=_USCC)
    kind: PenaltyKind = Field(
        description="处罚种类: warning 警告 | fine 罚款 | confiscation 没收违法所得或非法财产 | "
        "suspension 限期停止活动 | revocation 撤销登记"
    )
    amount_yuan: DecimalString | None = Field(
        default=None,
        description="金额（元） for fine or confiscation, exact decimal string with at most 2 "
        "places (e.g. `20000.00`); null otherwise",
    )
    suspended_until: dt.date | None = Field(
        default=None, description="停止活动截止日期 (inclusive) for a suspension; null otherwise"
    )
    violation_id: str | None = Field(
        default=None, description=_VIOLATION_ID + " the penalty is for, when recorded here"
    )
    document_number: str = Field(description="处罚决定书文号 number of the decision document")
    legal_basis: str = Field(description="法律依据 the provisions applied")
    deciding_department: str = Field(description="作出决定的机关 the deciding department")
    decided_on: dt.date = Field(description="决定日期 date of the decision")
    reason: str | None = Field(
        default=None,
        description="处罚事由 the facts the penalty is for (free text; what a registry records as "
        "the reason of a revocation); null when not given",
    )


class AgencyListed(_SupervisionEvent):
    """The agency was put on a credit list (列入活动异常名录 / 严重违法失信名单)."""

    event_type: ClassVar[str] = "AgencyListed"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "listed_on"

    listing_id: str = Field(description=_LISTING_ID)
    uscc: str = Field(description=_USCC)
    list: CreditList = Field(description=_LIST)
    ground: str = Field(
        description="列入事由 id. abnormal: annual_report_not_filed 未按时报送年度工作报告 | "
        "rectification_overdue 逾期未整改 | warning_or_small_fine 警告或5万元以下罚款 | "
        "unreachable 通过登记住所无法联系 | no_party_organisation 未按规定建立党组织 | "
        "other 其他法定情形. serious: abnormal_two_years 列入异常名录满2年 | "
        "suspension 限期停止活动 | large_fine 5万元以上罚款 | repeated_penalties 3年内2次以上警告"
        "或较小数额罚款 | revoked 撤销登记 | dishonest_debtor 失信被执行人 | "
        "fraudulent_change 以欺骗等手段取得变更登记 | other 其他法定情形. "
        "Consumers must accept ids added later."
    )
    detail: str | None = Field(default=None, description="说明 facts behind the ground (free text)")
    cause_ref: str | None = Field(
        default=None,
        description="id of the penalty, rectification or earlier listing that gave the ground, "
        "if any",
    )
    legal_basis: str = Field(description="法律依据 the provisions applied")
    listed_on: dt.date = Field(description="列入日期 date the listing takes effect")


class AgencyDelisted(_SupervisionEvent):
    """The agency was removed from a credit list (移出); closes the listing interval."""

    event_type: ClassVar[str] = "AgencyDelisted"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "removed_on"

    listing_id: str = Field(description=_LISTING_ID + " being closed")
    uscc: str = Field(description=_USCC)
    list: CreditList = Field(description=_LIST)
    reason: str = Field(
        description="移出原因 id: rectification_verified 整改核实后移出 | "
        "six_months_elapsed 满6个月自动移出 | escalated_to_serious 转入严重违法失信名单 | "
        "two_years_no_new_ground 满2年无新情形申请移出 | deregistration_completed 撤销后完成注销 | "
        "decision_withdrawn 列入决定被撤销或纠正 | other 其他. "
        "Consumers must accept ids added later."
    )
    detail: str | None = Field(default=None, description="说明 (free text)")
    removed_on: dt.date = Field(description="移出日期 date the listing ended")


class ListingClockRestarted(_SupervisionEvent):
    """A new entry ground arose while the agency was on this list (重新计算列入期限).

    The listing interval stays open; its clock (6-month automatic exit, 2-year escalation or
    2-year serious-list exit) runs again from `restarted_on`.
    """

    event_type: ClassVar[str] = "ListingClockRestarted"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "restarted_on"

    listing_id: str = Field(description=_LISTING_ID + " whose clock restarts")
    uscc: str = Field(description=_USCC)
    list: CreditList = Field(description=_LIST)
    ground: str = Field(description="新的列入事由 id (same ids as AgencyListed.ground)")
    cause_ref: str | None = Field(
        default=None, description="id of the penalty, rectification or listing behind the ground"
    )
    restarted_on: dt.date = Field(description="重新起算日期 the clock runs again from this day")


class AnnualReportOverdue(_SupervisionEvent):
    """No annual report (年检/年报) of a working year by its filing deadline (未按时报送年度工作
    报告); the clock alone emits it, with the abnormal listing it brings."""

    event_type: ClassVar[str] = "AnnualReportOverdue"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "overdue_on"

    uscc: str = Field(description=_USCC)
    year: int = Field(description="年度 the working year whose report is missing, e.g. 2026")
    deadline: dt.date = Field(
        description="报送截止日 the last day to file (a day off moved to the next working day)"
    )
    overdue_on: dt.date = Field(description="逾期日 the first day after the deadline")


class AnnualReportPreliminarilyReviewed(_SupervisionEvent):
    """The sponsor (业务主管单位) completed its preliminary review of a working year's annual
    report (初审); due by the sponsor-review deadline (default 31 March of the next year)."""

    event_type: ClassVar[str] = "AnnualReportPreliminarilyReviewed"
    event_version: ClassVar[int] = 1

    uscc: str = Field(description=_USCC)
    year: int = Field(description="年度 the working year reported on")
    sponsor: str = Field(description="业务主管单位 the sponsor that reviewed it")
    opinion: str = Field(description="初审意见 the sponsor's opinion")
    reviewed_on: dt.date = Field(description="初审日期")
    deadline: dt.date = Field(description="初审截止日 (a day off moved to the next working day)")
    late: bool = Field(description="逾期 true when reviewed after the deadline")


class AnnualReportFiled(_SupervisionEvent):
    """The annual report of a working year was filed with civil affairs (报送登记管理机关);
    due by the filing deadline (default 31 May of the next year). A conclusion follows."""

    event_type: ClassVar[str] = "AnnualReportFiled"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "filed_on"

    uscc: str = Field(description=_USCC)
    year: int = Field(description="年度 the working year reported on")
    filed_on: dt.date = Field(description="报送日期")
    deadline: dt.date = Field(description="报送截止日 (a day off moved to the next working day)")
    late: bool = Field(description="逾期 true when filed after the deadline")


class AnnualInspectionConcluded(_SupervisionEvent):
    """The annual inspection or annual report of one year was concluded (年检 / 年报)."""

    event_type: ClassVar[str] = "AnnualInspectionConcluded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "concluded_on"

    inspection_id: str = Field(description="年检 id (UUID)")
    uscc: str = Field(description=_USCC)
    year: int = Field(description="年度 the working year inspected, e.g. 2023")
    conclusion: InspectionConclusion = Field(
        description="结论: qualified 合格 | basically_qualified 基本合格 | unqualified 不合格 "
        "(inspection mode); filed 已报送 | not_filed 未报送 (annual-report mode)"
    )
    remarks: str | None = Field(default=None, description="意见 remarks of the inspecting office")
    concluded_on: dt.date = Field(description="结论日期 date of the conclusion")


class EvaluationGradeAwarded(_SupervisionEvent):
    """A comprehensive evaluation grade was announced (社会组织评估等级 1A-5A)."""

    event_type: ClassVar[str] = "EvaluationGradeAwarded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "announced_on"

    evaluation_id: str = Field(description="评估 id (UUID)")
    uscc: str = Field(description=_USCC)
    grade: int = Field(description="评估等级 number of A's: 1 (1A) to 5 (5A)")
    announced_on: dt.date = Field(description="公告日期 date the grade was announced")
    valid_from: dt.date = Field(description="有效期起 first day the grade is valid (inclusive)")
    valid_to: dt.date = Field(
        description="有效期止 last day the grade is valid (inclusive); 5 years, computed by the "
        "rule in force when announced"
    )


PerformanceConclusion = Literal["excellent", "good", "qualified", "unqualified"]


class CommendationRecorded(_SupervisionEvent):
    """A commendation or award the agency received was recorded (表彰奖励); credit file "other"."""

    event_type: ClassVar[str] = "CommendationRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "awarded_on"

    commendation_id: str = Field(description="表彰 id (UUID)")
    uscc: str = Field(description=_USCC)
    title: str = Field(description="表彰名称 name of the honour, e.g. 郑州市优秀社会工作服务机构")
    awarding_body: str = Field(description="授予单位 who gave it")
    document_number: str | None = Field(default=None, description="表彰文件文号, if any")
    awarded_on: dt.date = Field(description="授予日期 date it was given")


class GovernmentProjectRecorded(_SupervisionEvent):
    """A government project the agency undertook was recorded (承接政府购买服务项目)."""

    event_type: ClassVar[str] = "GovernmentProjectRecorded"
    event_version: ClassVar[int] = 1

    project_id: str = Field(description="项目 id (UUID)")
    uscc: str = Field(description=_USCC)
    name: str = Field(description="项目名称 name of the project")
    purchaser: str = Field(description="购买主体 the government department that bought it")
    amount_yuan: DecimalString = Field(
        description="合同金额（元） exact decimal string with at most 2 places"
    )
    start_on: dt.date = Field(description="项目期限起 first day (inclusive)")
    end_on: dt.date = Field(description="项目期限止 last day (inclusive)")


class ProjectPerformanceEvaluated(_SupervisionEvent):
    """A funded project's performance evaluation was concluded (项目绩效评价)."""

    event_type: ClassVar[str] = "ProjectPerformanceEvaluated"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "evaluated_on"

    evaluation_id: str = Field(description="绩效评价 id (UUID)")
    uscc: str = Field(description=_USCC)
    project_id: str | None = Field(
        default=None, description="项目 id of a GovernmentProjectRecorded, when recorded here"
    )
    project_name: str = Field(description="项目名称 name of the evaluated project")
    score: DecimalString = Field(description="得分 score, decimal string (e.g. `86.5`)")
    conclusion: PerformanceConclusion = Field(
        description="结论: excellent 优秀 | good 良好 | qualified 合格 | unqualified 不合格"
    )
    evaluator: str = Field(description="评价机构 who evaluated it")
    evaluated_on: dt.date = Field(description="评价日期 date of the conclusion")


class FollowUpEvaluationRecorded(_SupervisionEvent):
    """A follow-up evaluation of a graduated agency (出壳后跟进评估, guidance §6.2)."""

    event_type: ClassVar[str] = "FollowUpEvaluationRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "evaluated_on"

    evaluation_id: str = Field(description="跟进评估 id (UUID)")
    uscc: str = Field(description=_USCC)
    base_id: str | None = Field(
        default=None, description="孵化基地 id of the base it graduated from, when known"
    )
    findings: str = Field(description="评估发现 how the agency is doing")
    conclusion: PerformanceConclusion = Field(
        description="结论: excellent 优秀 | good 良好 | qualified 合格 | unqualified 不合格"
    )
    evaluated_on: dt.date = Field(description="评估日期 date of the evaluation")


EVENTS: tuple[type[DomainEvent], ...] = (
    ViolationRecorded,
    RectificationOrdered,
    RectificationConfirmed,
    RectificationOverdue,
    AnnualReportOverdue,
    AnnualReportPreliminarilyReviewed,
    AnnualReportFiled,
    PenaltyImposed,
    AgencyListed,
    AgencyDelisted,
    ListingClockRestarted,
    AnnualInspectionConcluded,
    EvaluationGradeAwarded,
    CommendationRecorded,
    GovernmentProjectRecorded,
    ProjectPerformanceEvaluated,
    FollowUpEvaluationRecorded,
)
