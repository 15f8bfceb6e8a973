"""Events published by the incubation service (topic `socialwork.incubation.events`).

Two kinds of stream (aggregate) publish here:
- a base (孵化基地), keyed by `base_id`: BaseEstablished, BaseFacilitiesUpdated,
  AdmissionStandardAdopted, CallPublished, TrainingDelivered, BaseEvaluated, BaseStaffRecorded,
  BaseFundingRecorded, BaseClosed;
- an incubation (one agency's application to one call, and, if admitted, its stay in one office
  of the base), keyed by `incubation_id`: ApplicationSubmitted, ApplicationReviewed,
  ApplicationApproved, ApplicationRejected, AgreementSigned, IncubationStarted,
  IncubationExtended, SupportRecorded, ProfessionalServicesRecorded, IncubationTermOverrun,
  IncubationInactivityFlagged, AgencyGraduated, IncubationTerminated, IncubationIdentityLinked;
- a group in preparation (筹备中的社会组织, registration assistance 注册协助), keyed by
  `provisional_id`: GroupInPreparationRecorded, GroupRegistrationOverdue, GroupRegistered.

Registration assistance (注册协助): a group with no credit code yet applies, is admitted and
supported under its provisional id, which stands where an agency's `uscc` stands (a UUID, 36
characters, never a credit code) until the registry registers it naming that id
(`AgencyRegistered.provisional_id`); then `GroupRegistered` and `IncubationIdentityLinked` record
the link and later events carry the credit code. Consumers attribute the earlier events of the
provisional id to the agency from the link on (count it once).

Calendar dates are Asia/Shanghai local dates; a term or window `[start, end]` includes both ends.

Money, areas and hours are decimal strings (`"12000.00"`), never floats, so sums stay exact.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from socialwork_contracts.base import DecimalString, DomainEvent

BaseLevel = Literal["city", "county", "township"]
TerminationReason = Literal[
    "voluntary",
    "agreement_breach",
    "penalty_or_listing",
    "deregistration_or_revocation",
    "inactivity",
    "term_expired",
]

_USCC = (
    "统一社会信用代码 of the incubated agency (18 characters, GB 32100-2015); for a group in "
    "preparation not yet registered, its provisional id (UUID) instead (注册协助)"
)
_BASE_ID = "孵化基地 id (UUID) of the base"
_PROVISIONAL_ID = (
    "临时标识 provisional id (UUID) of a group in preparation (筹备中) receiving registration "
    "assistance; the stream id of the group"
)
_INCUBATION_ID = (
    "入孵 id (UUID): one agency's application and, if admitted, its stay in one office of one "
    "base; the stream id"
)
_OFFICE_ID = "办公室编号 id of the office, unique within the base (one agency per office, §5.3)"


class _IncubationEvent(DomainEvent):
    producer: ClassVar[str] = "incubation"
    stream_field: ClassVar[str] = "incubation_id"


class Office(BaseModel):
    """One office of a base (guidance §3.2: at least 3, each ≥ 15 m², one a shared room)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    office_id: str = Field(description=_OFFICE_ID)
    area_m2: DecimalString = Field(description="使用面积 floor area in square metres, e.g. `18.50`")
    shared_room: bool = Field(
        description="公共会议室/培训室: true for the larger shared meeting or training room, "
        "which is never allotted to one agency"
    )


class BaseEstablished(_IncubationEvent):
    """A base was set up and recorded (孵化基地建成); guidance §3.2-3.4."""

    event_type: ClassVar[str] = "BaseEstablished"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "established_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    name: str = Field(description="基地名称 name of the base")
    level: BaseLevel = Field(
        description="基地层级: city 市级 | county 县（市、区）级 | township 乡镇（街道）级"
    )
    reporting_unit: str = Field(
        description="统计单位 reporting unit id, one of the 16 (reference_data/localities.json)"
    )
    county_code: str | None = Field(
        description="行政区划代码 GB/T 2260 county code; null for functional zones without one"
    )
    address: str = Field(description="基地地址 address of the premises")
    supervising_department: str = Field(
        description="主管部门 the civil-affairs department that runs the base and signs "
        "incubation agreements"
    )
    operator: str = Field(
        description="运营机构 name of the organisation operating the base (usually a professional "
        "social organisation under a government-purchase contract)"
    )
    operator_uscc: str | None = Field(
        default=None, description="运营机构统一社会信用代码, when the operator has one"
    )
    purchase_contract: str | None = Field(
        default=None,
        description="政府购买服务合同编号 number of the contract under which the operator runs the "
        "base; null when the department runs it directly",
    )
    offices: list[Office] = Field(description="办公室 offices of the base (§3.2: at least 3)")
    has_desks_and_chairs: bool = Field(description="配备办公桌椅 desks and chairs provided")
    has_projector: bool = Field(description="配备投影仪 projector provided")
    fire_safety_compliant: bool = Field(
        description="消防设施达标 fire-safety equipment to standard"
    )
    established_on: dt.date = Field(description="建成日期 date the base was established")


class BaseFacilitiesUpdated(_IncubationEvent):
    """The base's rooms or equipment changed (场地设施变更); the lists replace the old ones."""

    event_type: ClassVar[str] = "BaseFacilitiesUpdated"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "updated_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    offices: list[Office] = Field(description="办公室 all offices of the base after the change")
    has_desks_and_chairs: bool = Field(description="配备办公桌椅 desks and chairs provided")
    has_projector: bool = Field(description="配备投影仪 projector provided")
    fire_safety_compliant: bool = Field(
        description="消防设施达标 fire-safety equipment to standard"
    )
    updated_on: dt.date = Field(description="变更日期 date the change took effect")


class AdmissionStandardAdopted(_IncubationEvent):
    """A version of the base's admission standard and agreement template was adopted (§5.2)."""

    event_type: ClassVar[str] = "AdmissionStandardAdopted"
    event_version: ClassVar[int] = 1
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    version: int = Field(description="版本号 version of the standard, 1, 2, … increasing")
    requirements: list[str] = Field(description="入孵申请标准 the admission requirements, in order")
    agreement_template: str = Field(
        description="入孵协议书范本 reference (document number or store id) of the agreement "
        "template used with this standard"
    )
    effective_from: dt.date = Field(
        description="生效日期 first day this version applies (inclusive)"
    )


class CallPublished(_IncubationEvent):
    """A call for applications was published (发布入孵申请通知); guidance §5.2."""

    event_type: ClassVar[str] = "CallPublished"
    event_version: ClassVar[int] = 1
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    call_id: str = Field(description="申请通知 id (UUID) of the call")
    title: str = Field(description="通知标题 title of the call")
    opens_on: dt.date = Field(description="申请开始日期 first day applications are accepted")
    closes_on: dt.date = Field(
        description="申请截止日期 last day applications are accepted (inclusive)"
    )
    places: int = Field(description="入孵名额 number of agencies the call will admit at most")
    standard_version: int = Field(description="入孵标准版本 admission standard version applied")
    published_on: dt.date = Field(description="发布日期 date the call was published")


BaseEvaluationConclusion = Literal["excellent", "good", "qualified", "unqualified"]


class BaseEvaluated(_IncubationEvent):
    """The base's operation over a period was evaluated (基地运行评估, guidance §6.3), with the
    figures the platform held for the period and the evaluators' conclusion."""

    event_type: ClassVar[str] = "BaseEvaluated"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "evaluated_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    evaluation_id: str = Field(description="评估 id (UUID)")
    period_start: dt.date = Field(description="评估期起 first day (inclusive)")
    period_end: dt.date = Field(description="评估期止 last day (inclusive)")
    offices: int = Field(description="可分配办公室数 allottable offices at the period's end")
    offices_occupied: int = Field(description="期末在用办公室数 offices held at the period's end")
    incubations_started: int = Field(description="期内入驻机构数 move-ins within the period")
    graduations: int = Field(description="期内出壳机构数 graduations within the period")
    terminations: int = Field(description="期内退驻机构数 early exits within the period")
    funding_yuan: DecimalString = Field(description="期内资金扶持（元） funding given, exact")
    training_sessions: int = Field(description="期内培训场次")
    training_hours: DecimalString = Field(description="期内培训时长（小时）")
    training_attendees: int = Field(description="期内参训人次")
    staff_full_time: int | None = Field(
        default=None,
        description="专职人员数 the base's full-time staff at the period's end (latest "
        "BaseStaffRecorded on or before it); null when none recorded. Added in 1.3.0",
    )
    staff_qualified: int | None = Field(
        default=None,
        description="其中持证或社工专业人员数 of whom qualified (certificate or social-work "
        "degree); null when none recorded. Added in 1.3.0",
    )
    funding_budget_yuan: DecimalString | None = Field(
        default=None,
        description="期内财政预算资金（元） the base's own funding received in the period from the "
        "budget (§6.1 纳入财政预算). Added in 1.3.0",
    )
    funding_other_yuan: DecimalString | None = Field(
        default=None,
        description="期内其他来源资金（元） from other sources (社会力量等). Added in 1.3.0",
    )
    service_projects: int | None = Field(
        default=None,
        description="期内专业服务项目数 projects of the residents' professional services recorded "
        "for periods ending within the evaluation period. Added in 1.3.0",
    )
    service_hours: DecimalString | None = Field(
        default=None, description="期内专业服务时长（小时）. Added in 1.3.0"
    )
    service_beneficiaries: int | None = Field(
        default=None, description="期内服务人次 beneficiaries served. Added in 1.3.0"
    )
    conclusion: BaseEvaluationConclusion = Field(
        description="评估结论: excellent 优秀 | good 良好 | qualified 合格 | unqualified 不合格"
    )
    evaluator: str = Field(description="评估单位 who evaluated")
    remarks: str | None = Field(default=None, description="评估意见")
    evaluated_on: dt.date = Field(description="评估日期")


BaseFundingSource = Literal["budget", "other"]
BaseFundingPurpose = Literal["construction", "operation"]


class BaseStaffRecorded(_IncubationEvent):
    """The base's full-time staff were counted (专职人员, guidance §3.4): how many, and how many
    hold a social-worker certificate or a social-work degree. The count holds until the next."""

    event_type: ClassVar[str] = "BaseStaffRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "counted_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    full_time: int = Field(description="专职人员数 full-time staff of the base (≥ 0)")
    qualified: int = Field(
        description="其中持证或社工专业人员数 of whom hold 助理社会工作师, 社会工作师 or "
        "高级社会工作师, or a social-work bachelor's degree or higher (0 ≤ qualified ≤ full_time)"
    )
    counted_on: dt.date = Field(description="统计日期 the day the count applies from")


class BaseFundingRecorded(_IncubationEvent):
    """Money the base itself received for its construction or operation (基地经费), by source:
    the budget (财政预算, guidance §6.1) or other sources (其他来源: 社会力量、捐赠等, §2.3)."""

    event_type: ClassVar[str] = "BaseFundingRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "received_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    funding_id: str = Field(description="经费记录 id (UUID)")
    source: BaseFundingSource = Field(
        description="资金来源: budget 财政预算 | other 其他来源 (social investment, donations …)"
    )
    purpose: BaseFundingPurpose = Field(
        description="用途: construction 建设经费 | operation 运营管理经费"
    )
    payer: str = Field(description="出资方 who provided the money, e.g. 金水区财政局")
    amount_yuan: DecimalString = Field(description="金额（元） exact, at most 2 places, > 0")
    received_on: dt.date = Field(description="到账日期 date the money was received")


class BaseClosed(_IncubationEvent):
    """A base stopped operating (基地撤销或停止运营); it admits no one from this date."""

    event_type: ClassVar[str] = "BaseClosed"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "closed_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    reason: str = Field(description="原因 why the base closed")
    closed_on: dt.date = Field(description="停止运营日期 date the base closed")


ReviewStage = Literal["intake", "first_review", "panel_review", "public_notice"]
AGREEMENT_OBLIGATIONS = (
    "self_operated",
    "independent_accounting",
    "own_profit_and_loss",
    "social_work_only",
    "no_commercial_activity",
    "no_premises_alteration",
    "no_office_subletting_or_sharing",
)


class ApplicationSubmitted(_IncubationEvent):
    """An agency applied to a call of a base (入孵申请); the incubation's stream begins here."""

    event_type: ClassVar[str] = "ApplicationSubmitted"
    event_version: ClassVar[int] = 1

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    call_id: str = Field(description="申请通知 id (UUID) of the call applied to")
    uscc: str = Field(description=_USCC)
    agency_name: str = Field(description="机构名称 the agency's registered name when it applied")
    local: bool = Field(
        description="本地机构: true when the agency's reporting unit is the base's (guidance §3)"
    )
    non_local_reason: str | None = Field(
        default=None,
        description="非本地机构申请理由 recorded reason for accepting a non-local agency; null "
        "if local",
    )
    submitted_on: dt.date = Field(description="申请日期 date the application was received")


class ApplicationReviewed(_IncubationEvent):
    """One review stage was passed (审核): intake, first review, panel review, public notice."""

    event_type: ClassVar[str] = "ApplicationReviewed"
    event_version: ClassVar[int] = 1

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    stage: ReviewStage = Field(
        description="审核环节, in this order: intake 受理 | first_review 初审 | "
        "panel_review 评审 | public_notice 公示"
    )
    opinion: str = Field(description="审核意见 the reviewers' opinion")
    reviewed_on: dt.date = Field(description="审核日期 date the stage was completed")


class ApplicationApproved(_IncubationEvent):
    """The application was approved after all review stages (审核通过，准予入孵)."""

    event_type: ClassVar[str] = "ApplicationApproved"
    event_version: ClassVar[int] = 1

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    call_id: str = Field(description="申请通知 id (UUID) of the call")
    uscc: str = Field(description=_USCC)
    opinion: str = Field(description="审批意见 reasons for the approval")
    approved_on: dt.date = Field(description="批准日期 date of approval")


class ApplicationRejected(_IncubationEvent):
    """The application was refused, with its reasons (不予入孵)."""

    event_type: ClassVar[str] = "ApplicationRejected"
    event_version: ClassVar[int] = 1

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    call_id: str = Field(description="申请通知 id (UUID) of the call")
    uscc: str = Field(description=_USCC)
    stage: ReviewStage | None = Field(
        default=None,
        description="环节 the review stage at which it was refused; null when after all stages",
    )
    reasons: list[str] = Field(description="不予入孵理由 the reasons, at least one")
    rejected_on: dt.date = Field(description="决定日期 date of the refusal")


class AgreementSigned(_IncubationEvent):
    """The incubation agreement was signed (签订入孵协议); the office is reserved from now."""

    event_type: ClassVar[str] = "AgreementSigned"
    event_version: ClassVar[int] = 1

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    agreement_id: str = Field(description="入孵协议 id (UUID) of the agreement")
    office_id: str = Field(description=_OFFICE_ID + "; assigned to this agency alone")
    term_start: dt.date = Field(description="协议期限起 first day of the term (inclusive)")
    term_end: dt.date = Field(description="协议期限止 last day of the term (inclusive)")
    obligations: list[str] = Field(
        description="入驻要求 (guidance §5.3) the agency accepted: self_operated 自主运营 | "
        "independent_accounting 独立核算 | own_profit_and_loss 自负盈亏 | "
        "social_work_only 不从事与社会工作服务无关的活动 | no_commercial_activity 不从事商业活动 | "
        "no_premises_alteration 不得改造办公场地架构 | no_office_subletting_or_sharing 不得转租、"
        "分租、转让、转借、擅自调换或与他人共享办公场地. Consumers must accept ids added later."
    )
    standard_version: int = Field(
        description="入孵标准版本 version of the admission standard (and template) used"
    )
    signed_on: dt.date = Field(description="签订日期 date both parties signed")
    default_term_months: int | None = Field(
        default=None,
        description="默认孵化期限（月） when the agreement named no end: the months of the default "
        "term in force on the signing day (reference_data/incubation_policy.json), from which "
        "`term_end` was computed; null when the parties agreed the end. Added in 1.3.0",
    )


class IncubationStarted(_IncubationEvent):
    """An admitted agency moved into its office under a signed agreement (入驻); §5.2."""

    event_type: ClassVar[str] = "IncubationStarted"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "started_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    agreement_id: str = Field(description="入孵协议 id (UUID) of the signed incubation agreement")
    uscc: str = Field(description=_USCC)
    office_id: str = Field(description=_OFFICE_ID)
    term_start: dt.date = Field(description="协议期限起 first day of the agreed term (inclusive)")
    term_end: dt.date = Field(description="协议期限止 last day of the agreed term (inclusive)")
    started_on: dt.date = Field(description="入驻日期 date the agency moved in")
    local: bool = Field(
        description="本地机构: true when the agency is registered in the base's reporting unit "
        "(counts towards the base's 3 local agencies in its first year, guidance §3)"
    )
    non_local_reason: str | None = Field(
        default=None,
        description="非本地机构入孵理由 why a non-local agency was admitted; null if local",
    )


class IncubationExtended(_IncubationEvent):
    """The agreement was extended (续驻); the incubation goes on to the new term end."""

    event_type: ClassVar[str] = "IncubationExtended"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "extended_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    agreement_id: str = Field(description="续驻协议 id (UUID) of the extension agreement")
    previous_term_end: dt.date = Field(description="原协议期限止 term end before the extension")
    term_end: dt.date = Field(description="新协议期限止 new last day of the term (inclusive)")
    extended_on: dt.date = Field(description="续签日期 date the extension was signed")


class SupportRecorded(_IncubationEvent):
    """Support given to an incubated agency was recorded (扶持记录); guidance §5.3."""

    event_type: ClassVar[str] = "SupportRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "given_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    uscc: str = Field(description=_USCC)
    base_id: str = Field(description=_BASE_ID)
    support_type: str = Field(
        description="扶持类型 id: office_equipment 办公场地及设备 | registration_help 登记协助 | "
        "funding 资金扶持 | capacity_building 能力建设 | guidance 业务指导 | "
        "policy_counselling 政策咨询 | publicity 宣传推介 | training 人才培训 | other 其他. "
        "Consumers must accept ids added later."
    )
    funding_type: str | None = Field(
        default=None,
        description="资金类型 id when support_type is funding: seed_fund 种子基金 | "
        "venture_philanthropy 公益创投 | project_competition 项目大赛 | "
        "subsidy_or_award 补贴或奖励 | fee_waiver 费用减免 | "
        "government_purchase 政府购买服务 | other 其他; null otherwise",
    )
    amount_yuan: DecimalString | None = Field(
        default=None,
        description="金额（元） exact decimal string with at most 2 places, e.g. `50000.00`; "
        "null when the support has no money value",
    )
    description: str = Field(description="扶持内容 what was given or done")
    given_on: dt.date = Field(description="扶持日期 date the support was given")


class TrainingDelivered(_IncubationEvent):
    """A training session was held at a base (人才培训); counted in the half-year reports."""

    event_type: ClassVar[str] = "TrainingDelivered"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "held_on"
    stream_field: ClassVar[str] = "base_id"

    base_id: str = Field(description=_BASE_ID + "; the stream id")
    session_id: str = Field(description="培训场次 id (UUID) of the session")
    title: str = Field(description="培训主题 title of the session")
    held_on: dt.date = Field(description="培训日期 date the session was held")
    hours: DecimalString = Field(description="培训时长（小时） exact decimal string, e.g. `3.5`")
    attendees: int = Field(description="参训人次 number of people who attended")
    agency_usccs: list[str] = Field(
        description="参训机构 unified social credit codes of the agencies that sent attendees"
    )


class AgencyGraduated(_IncubationEvent):
    """The agency passed the exit assessment and left as a mature agency (出壳); office freed."""

    event_type: ClassVar[str] = "AgencyGraduated"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "graduated_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    graduated_on: dt.date = Field(description="出壳日期 date of graduation")
    assessment_summary: str = Field(description="出壳评估意见 summary of the exit assessment")
    office_id: str = Field(description=_OFFICE_ID + "; free again from the next day")
    criteria_version: str | None = Field(
        default=None,
        description="出壳标准版本 version of the graduation criteria assessed against; null if "
        "not recorded",
    )


class IncubationTerminated(_IncubationEvent):
    """The incubation ended before graduation (退驻); office freed. Guidance §5.3."""

    event_type: ClassVar[str] = "IncubationTerminated"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "terminated_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    office_id: str | None = Field(
        default=None,
        description=_OFFICE_ID + "; free again from the next day. Absent when the stay ended "
        "after approval, before an agreement assigned an office",
    )
    reason: TerminationReason = Field(
        description="退驻原因: voluntary 主动退出 | agreement_breach 违反入孵协议 (shared, sublet, "
        "altered the office, commercial or unrelated activity) | penalty_or_listing 受到行政处罚或"
        "列入异常名录/严重违法失信名单 | deregistration_or_revocation 注销或撤销登记 | "
        "inactivity 长期未开展活动 | term_expired 期满未续驻"
    )
    terminated_on: dt.date = Field(description="退驻日期 date the incubation ended")
    detail: str = Field(description="说明 facts behind the reason (free text)")


class ProfessionalServicesRecorded(_IncubationEvent):
    """The professional services an incubated agency delivered over a period, as the base
    recorded them (提供专业服务情况, guidance §6.3): projects run, service hours, beneficiaries.
    The period lies within one half-year, so each half-year report counts it whole."""

    event_type: ClassVar[str] = "ProfessionalServicesRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "period_end"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    record_id: str = Field(description="服务记录 id (UUID)")
    period_start: dt.date = Field(description="服务期起 first day covered (inclusive)")
    period_end: dt.date = Field(description="服务期止 last day covered (inclusive)")
    projects: int = Field(description="服务项目数 projects delivered in the period (≥ 0)")
    service_hours: DecimalString = Field(description="服务时长（小时） exact, e.g. `120.5`")
    beneficiaries: int = Field(description="服务人次 people served (person-times, ≥ 0)")
    description: str = Field(description="服务内容 what was delivered")


class IncubationTermOverrun(_IncubationEvent):
    """The stay went past its term without an extension (期满未续驻): still incubating the day
    after `term_end`. Recorded by the scheduled check, once per term end; grounds for
    graduation or termination (`term_expired`), which the officer decides."""

    event_type: ClassVar[str] = "IncubationTermOverrun"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "overrun_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    term_end: dt.date = Field(description="协议期限止 the last day of the term that passed")
    overrun_on: dt.date = Field(description="超期日 the first day past the term")


class IncubationInactivityFlagged(_IncubationEvent):
    """No activity was recorded for the stay for the days in force (长期未开展活动; default 90,
    reference_data/incubation_policy.json): no move-in, support, professional service or
    extension since `last_activity_on`. Recorded by the scheduled check, once per quiet spell."""

    event_type: ClassVar[str] = "IncubationInactivityFlagged"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "flagged_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    last_activity_on: dt.date = Field(description="最近活动日期 the last recorded activity")
    inactive_days: int = Field(description="无活动天数 the days in force that passed without any")
    flagged_on: dt.date = Field(
        description="标记日期 last_activity_on + inactive_days: the first day the spell reached it"
    )


class IncubationIdentityLinked(_IncubationEvent):
    """The group in preparation behind this incubation was registered (注册协助完成): from now
    on the incubation is the agency's, under its credit code; its history follows the agency."""

    event_type: ClassVar[str] = "IncubationIdentityLinked"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "linked_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    provisional_id: str = Field(description=_PROVISIONAL_ID)
    uscc: str = Field(description="统一社会信用代码 the credit code the registry gave the group")
    linked_on: dt.date = Field(description="登记日期 the registration date that made the link")


class _GroupEvent(DomainEvent):
    producer: ClassVar[str] = "incubation"
    stream_field: ClassVar[str] = "provisional_id"


class PublicNoticeOpened(_IncubationEvent):
    """The admission was put to public notice (入孵公示) for a window with a start and an end;
    objections may be received during it; the `public_notice` stage is passed after it ends."""

    event_type: ClassVar[str] = "PublicNoticeOpened"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "starts_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    agency_name: str = Field(description="机构名称 the name published")
    starts_on: dt.date = Field(description="公示开始日期 first day of the window (inclusive)")
    ends_on: dt.date = Field(description="公示截止日期 last day of the window (inclusive)")


class AdmissionObjectionRecorded(_IncubationEvent):
    """An objection to the admission was received during its public notice (公示期异议)."""

    event_type: ClassVar[str] = "AdmissionObjectionRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "received_on"

    incubation_id: str = Field(description=_INCUBATION_ID)
    base_id: str = Field(description=_BASE_ID)
    uscc: str = Field(description=_USCC)
    objection_id: str = Field(description="异议 id (UUID)")
    received_on: dt.date = Field(description="收到日期 within the window")
    summary: str = Field(description="异议内容摘要 (not published)")


class GroupInPreparationRecorded(_GroupEvent):
    """A group in preparation (筹备中, no credit code yet) was taken on for registration
    assistance (注册协助) by a base; it may apply and be supported under its provisional id."""

    event_type: ClassVar[str] = "GroupInPreparationRecorded"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "recorded_on"

    provisional_id: str = Field(description=_PROVISIONAL_ID)
    base_id: str = Field(description=_BASE_ID + " assisting the registration")
    name: str = Field(description="拟登记名称 the name the group intends to register")
    kind: Literal["service_agency", "association"] = Field(
        description="拟登记类型 service_agency 民办社会工作服务机构 | association 社会工作协会"
    )
    reporting_unit: str = Field(
        description="统计单位 reporting unit id where the group intends to register"
    )
    contact_person: str = Field(description="筹备负责人 the person leading the preparation")
    recorded_on: dt.date = Field(description="登记协助开始日期 day the group was taken on")
    register_by: dt.date = Field(
        description="应登记期限 last day (inclusive) by which the group should be registered "
        "(recorded_on + the months in force, default 6; docs/incubation.md)"
    )


class GroupRegistrationOverdue(_GroupEvent):
    """The group was not registered by its deadline (逾期未登记); recorded by the scheduled
    check, once. A later registration still links the group."""

    event_type: ClassVar[str] = "GroupRegistrationOverdue"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "overdue_on"

    provisional_id: str = Field(description=_PROVISIONAL_ID)
    base_id: str = Field(description=_BASE_ID + " assisting the registration")
    register_by: dt.date = Field(description="应登记期限 the deadline that passed (inclusive)")
    overdue_on: dt.date = Field(description="逾期日期 first day past the deadline")


class GroupRegistered(_GroupEvent):
    """The registry registered the group naming its provisional id (注册协助完成)."""

    event_type: ClassVar[str] = "GroupRegistered"
    event_version: ClassVar[int] = 1
    domain_date_field: ClassVar[str | None] = "registered_on"

    provisional_id: str = Field(description=_PROVISIONAL_ID)
    base_id: str = Field(description=_BASE_ID + " that assisted the registration")
    uscc: str = Field(description="统一社会信用代码 the credit code the registry gave the group")
    registered_on: dt.date = Field(description="登记日期 date of registration")


EVENTS: tuple[type[DomainEvent], ...] = (
    BaseEstablished,
    BaseFacilitiesUpdated,
    AdmissionStandardAdopted,
    CallPublished,
    BaseClosed,
    BaseEvaluated,
    BaseStaffRecorded,
    BaseFundingRecorded,
    ApplicationSubmitted,
    ApplicationReviewed,
    ApplicationApproved,
    ApplicationRejected,
    AgreementSigned,
    IncubationStarted,
    IncubationExtended,
    SupportRecorded,
    TrainingDelivered,
    AgencyGraduated,
    IncubationTerminated,
    IncubationIdentityLinked,
    PublicNoticeOpened,
    AdmissionObjectionRecorded,
    ProfessionalServicesRecorded,
    IncubationTermOverrun,
    IncubationInactivityFlagged,
    GroupInPreparationRecorded,
    GroupRegistrationOverdue,
    GroupRegistered,
)
