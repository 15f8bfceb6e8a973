"""One realistic, complete CloudEvent per event type, written to `contracts/examples/` by export.

Values are made up but well-formed: Zhengzhou names, unified social credit codes with correct
check characters, deterministic UUIDs (so regenerating gives the same files).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.envelope import CloudEvent, schema_urn
from socialwork_contracts.periods import LOCAL_TIME_ZONE
from socialwork_contracts.uscc import check_character

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organisation_code_check_character(first8: str) -> str:
    """The 9th character of the organisation code inside a USCC (GB 11714-1997, mod 11)."""
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(authority_and_division: str, organisation: str) -> str:
    """A well-formed code from 8 leading characters (e.g. `52410105`) and an 8-character serial."""
    org = organisation + organisation_code_check_character(organisation)
    first17 = authority_and_division + org
    return first17 + check_character(first17)


def _id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:socialwork:example:{name}"))


_CST = LOCAL_TIME_ZONE
_UTC = dt.UTC

# 52 = civil affairs, 民办非企业单位; 51 = civil affairs, 社会团体 (§2.2).
TONGXIN = make_uscc("52410105", "MJ0A1B2C")  # 郑州市金水区同心社会工作服务中心
XINYUAN = make_uscc("52410103", "MJ07D8E6")  # 郑州市二七区馨园社会工作服务中心
HENGSHAN = make_uscc("52410105", "MJ0F3G49")  # 郑州市金水区恒善社会工作服务中心 (base operator)
ANKANG = make_uscc("52410105", "MJ1H5K72")  # 郑州市金水区安康社会工作服务中心
ZZ_ASSOCIATION = make_uscc("51410100", "MJ0L6M88")  # 郑州市社会工作协会

JINSHUI_BASE = _id("base:jinshui")
ZHONGMOU_BASE = _id("base:zhongmou-baishajie")
INCUBATION_TONGXIN = _id("incubation:tongxin")
INCUBATION_ANKANG = _id("incubation:ankang")
HUIMIN = make_uscc("52410105", "MJ2P7Q31")  # 郑州市金水区惠民社会工作服务中心 (assisted group)
GROUP_HUIMIN = _id("group:huimin")
INCUBATION_HUIMIN = _id("incubation:huimin")
VIOLATION = _id("violation:ankang-subletting")
REGISTRAR = _id("user:registrar-zhang")
BASE_MANAGER = _id("user:base-manager-li")
INSPECTOR = _id("user:inspector-wang")


@dataclass(frozen=True)
class _Example:
    data: dict[str, Any]
    time: dt.datetime
    recorded: dt.datetime
    stream_version: int
    actor: str
    actor_role: str


_REGISTRY_FIELDS = {
    "address": "郑州市金水区文化路街道农业路东段8号",
    "legal_representative": "王丽娟",
    "charter_purpose": "运用社会工作专业方法，为社区困难群体提供专业服务，促进社会和谐",
    "charter_scope": "社区服务、老年人服务、青少年服务、社会工作专业培训与咨询",
    "charter_method": "个案工作、小组工作、社区工作",
}

EXAMPLES: dict[str, _Example] = {
    "AgencyRegistered.v1": _Example(
        {
            "uscc": XINYUAN,
            "name": "郑州市二七区馨园社会工作服务中心",
            "kind": "service_agency",
            "locality": "erqi",
            **_REGISTRY_FIELDS,
            "address": "郑州市二七区大学路街道兴华南街16号",
            "legal_representative": "刘建国",
            "full_time_staff": 6,
            "qualified_staff": 2,
            "service_fields": ["community_service", "marriage_family"],
            "target_groups": ["elderly", "children"],
            "priority": True,
            "registered_on": "2018-09-20",
        },
        dt.datetime(2018, 9, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2018, 9, 20, 2, 5, 13, tzinfo=_UTC),
        1,
        REGISTRAR,
        "registrar",
    ),
    "AgencyRegistered.v2": _Example(
        {
            "uscc": TONGXIN,
            "name": "郑州市金水区同心社会工作服务中心",
            "kind": "service_agency",
            "reporting_unit": "jinshui",
            "county_code": "410105",
            **_REGISTRY_FIELDS,
            "sponsor": None,
            "full_time_staff": 5,
            "qualified_staff": 2,
            "service_fields": ["community_service", "education_guidance"],
            "target_groups": ["elderly", "youth"],
            "priority": True,
            "registered_on": "2023-06-12",
        },
        dt.datetime(2023, 6, 12, 9, 30, tzinfo=_CST),
        dt.datetime(2023, 6, 12, 1, 31, 2, tzinfo=_UTC),
        1,
        REGISTRAR,
        "registrar",
    ),
    "AgencyProfileAmended.v1": _Example(
        {
            "uscc": TONGXIN,
            "address": "郑州市金水区丰产路街道经三路32号",
            "priority": True,
            "changed_fields": ["address"],
        },
        dt.datetime(2024, 3, 5, 14, 10, tzinfo=_CST),
        dt.datetime(2024, 3, 5, 6, 12, 44, tzinfo=_UTC),
        2,
        REGISTRAR,
        "registrar",
    ),
    "AgencyStaffChanged.v1": _Example(
        {"uscc": TONGXIN, "full_time_staff": 7, "qualified_staff": 3},
        dt.datetime(2024, 4, 1, 9, 0, tzinfo=_CST),
        dt.datetime(2024, 4, 1, 1, 2, 9, tzinfo=_UTC),
        3,
        REGISTRAR,
        "registrar",
    ),
    "QualifiedStaffShareFellShort.v1": _Example(
        {
            "uscc": TONGXIN,
            "full_time_staff": 7,
            "qualified_staff": 2,
            "required_qualified_staff": 3,
        },
        dt.datetime(2024, 4, 1, 9, 0, tzinfo=_CST),
        dt.datetime(2024, 4, 1, 1, 2, 9, tzinfo=_UTC),
        4,
        REGISTRAR,
        "registrar",
    ),
    "AgencySuspended.v1": _Example(
        {
            "uscc": ANKANG,
            "until": "2024-09-30",
            "reason": "违规转借孵化基地办公室，经责令改正后仍未整改到位",
            "decision_document": "郑金民罚决字〔2024〕第7号",
        },
        dt.datetime(2024, 7, 1, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 7, 1, 2, 3, 51, tzinfo=_UTC),
        4,
        REGISTRAR,
        "registrar",
    ),
    "AgencyReinstated.v1": _Example(
        {"uscc": ANKANG, "reason": "停止活动期满，经核查已整改到位"},
        dt.datetime(2024, 10, 8, 9, 0, tzinfo=_CST),
        dt.datetime(2024, 10, 8, 1, 0, 37, tzinfo=_UTC),
        5,
        REGISTRAR,
        "registrar",
    ),
    "AgencyDeregistered.v1": _Example(
        {"uscc": XINYUAN, "reason": "理事会决议终止，清算完毕，申请注销登记"},
        dt.datetime(2024, 12, 16, 15, 0, tzinfo=_CST),
        dt.datetime(2024, 12, 16, 7, 4, 20, tzinfo=_UTC),
        6,
        REGISTRAR,
        "registrar",
    ),
    "AgencyRegistrationRevoked.v1": _Example(
        {
            "uscc": ANKANG,
            "reason": "骗取政府购买服务资金，情节严重",
            "decision_document": "郑民罚决字〔2025〕第2号",
            "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条",
        },
        dt.datetime(2025, 3, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2025, 3, 20, 2, 1, 5, tzinfo=_UTC),
        6,
        REGISTRAR,
        "registrar",
    ),
    "BaseEstablished.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "name": "金水区社会工作服务机构孵化基地",
            "level": "county",
            "reporting_unit": "jinshui",
            "county_code": "410105",
            "address": "郑州市金水区花园路街道纬五路21号3楼",
            "supervising_department": "郑州市金水区民政局",
            "operator": "郑州市金水区恒善社会工作服务中心",
            "operator_uscc": HENGSHAN,
            "purchase_contract": "JSMZ-GMFW-2023-017",
            "offices": [
                {"office_id": "301", "area_m2": "18.50", "shared_room": False},
                {"office_id": "302", "area_m2": "16.00", "shared_room": False},
                {"office_id": "303", "area_m2": "15.20", "shared_room": False},
                {"office_id": "305", "area_m2": "62.00", "shared_room": True},
            ],
            "has_desks_and_chairs": True,
            "has_projector": True,
            "fire_safety_compliant": True,
            "established_on": "2023-03-01",
        },
        dt.datetime(2023, 3, 1, 10, 0, tzinfo=_CST),
        dt.datetime(2023, 3, 1, 2, 20, 11, tzinfo=_UTC),
        1,
        BASE_MANAGER,
        "base_manager",
    ),
    "BaseClosed.v1": _Example(
        {
            "base_id": ZHONGMOU_BASE,
            "reason": "所在街道办公用房调整，基地迁并至中牟县级孵化基地",
            "closed_on": "2025-01-31",
        },
        dt.datetime(2025, 1, 31, 17, 0, tzinfo=_CST),
        dt.datetime(2025, 1, 31, 9, 2, 40, tzinfo=_UTC),
        9,
        BASE_MANAGER,
        "base_manager",
    ),
    "BaseFacilitiesUpdated.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "offices": [
                {"office_id": "301", "area_m2": "18.50", "shared_room": False},
                {"office_id": "302", "area_m2": "16.00", "shared_room": False},
                {"office_id": "303", "area_m2": "15.20", "shared_room": False},
                {"office_id": "304", "area_m2": "17.00", "shared_room": False},
                {"office_id": "305", "area_m2": "62.00", "shared_room": True},
            ],
            "has_desks_and_chairs": True,
            "has_projector": True,
            "fire_safety_compliant": True,
            "updated_on": "2024-03-01",
        },
        dt.datetime(2024, 3, 1, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 3, 1, 2, 10, 4, tzinfo=_UTC),
        6,
        BASE_MANAGER,
        "unit_officer",
    ),
    "AdmissionStandardAdopted.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "version": 1,
            "requirements": [
                "在金水区登记的民办社会工作服务机构或社会工作协会",
                "成立不满三年，处于初创期",
                "专职人员中三分之一以上持证",
            ],
            "agreement_template": "JSMZ-FHXY-2023-v1",
            "effective_from": "2023-03-15",
        },
        dt.datetime(2023, 3, 15, 10, 0, tzinfo=_CST),
        dt.datetime(2023, 3, 15, 2, 5, 0, tzinfo=_UTC),
        2,
        BASE_MANAGER,
        "unit_officer",
    ),
    "CallPublished.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "call_id": _id("call:jinshui-2023"),
            "title": "2023年金水区社工机构孵化基地入孵申请通知",
            "opens_on": "2023-04-01",
            "closes_on": "2023-04-30",
            "places": 3,
            "standard_version": 1,
            "published_on": "2023-03-25",
        },
        dt.datetime(2023, 3, 25, 9, 0, tzinfo=_CST),
        dt.datetime(2023, 3, 25, 1, 0, 12, tzinfo=_UTC),
        3,
        BASE_MANAGER,
        "unit_officer",
    ),
    "ApplicationSubmitted.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "call_id": _id("call:jinshui-2023"),
            "uscc": TONGXIN,
            "agency_name": "郑州市金水区同心社会工作服务中心",
            "local": True,
            "non_local_reason": None,
            "submitted_on": "2023-04-10",
        },
        dt.datetime(2023, 4, 10, 10, 0, tzinfo=_CST),
        dt.datetime(2023, 4, 10, 2, 0, 30, tzinfo=_UTC),
        1,
        BASE_MANAGER,
        "base_operator",
    ),
    "ApplicationReviewed.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "stage": "panel_review",
            "opinion": "服务方案清晰，团队专业背景扎实，评审通过",
            "reviewed_on": "2023-05-12",
        },
        dt.datetime(2023, 5, 12, 15, 0, tzinfo=_CST),
        dt.datetime(2023, 5, 12, 7, 1, 2, tzinfo=_UTC),
        4,
        BASE_MANAGER,
        "unit_officer",
    ),
    "ApplicationApproved.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "call_id": _id("call:jinshui-2023"),
            "uscc": TONGXIN,
            "opinion": "公示期满无异议，准予入孵",
            "approved_on": "2023-06-01",
        },
        dt.datetime(2023, 6, 1, 10, 0, tzinfo=_CST),
        dt.datetime(2023, 6, 1, 2, 0, 45, tzinfo=_UTC),
        6,
        BASE_MANAGER,
        "unit_officer",
    ),
    "ApplicationRejected.v1": _Example(
        {
            "incubation_id": INCUBATION_ANKANG,
            "base_id": JINSHUI_BASE,
            "call_id": _id("call:jinshui-2023"),
            "uscc": XINYUAN,
            "stage": "first_review",
            "reasons": ["非本地机构且未说明入孵理由", "服务方案与社会工作无关"],
            "rejected_on": "2023-04-20",
        },
        dt.datetime(2023, 4, 20, 16, 0, tzinfo=_CST),
        dt.datetime(2023, 4, 20, 8, 0, 9, tzinfo=_UTC),
        3,
        BASE_MANAGER,
        "unit_officer",
    ),
    "AgreementSigned.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "agreement_id": _id("agreement:tongxin-2023"),
            "office_id": "301",
            "term_start": "2023-07-03",
            "term_end": "2024-07-02",
            "obligations": [
                "self_operated",
                "independent_accounting",
                "own_profit_and_loss",
                "social_work_only",
                "no_commercial_activity",
                "no_premises_alteration",
                "no_office_subletting_or_sharing",
            ],
            "standard_version": 1,
            "signed_on": "2023-06-20",
        },
        dt.datetime(2023, 6, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2023, 6, 20, 2, 3, 0, tzinfo=_UTC),
        7,
        BASE_MANAGER,
        "unit_officer",
    ),
    "IncubationStarted.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "agreement_id": _id("agreement:tongxin-2023"),
            "uscc": TONGXIN,
            "office_id": "301",
            "term_start": "2023-07-03",
            "term_end": "2024-07-02",
            "started_on": "2023-07-03",
            "local": True,
            "non_local_reason": None,
        },
        dt.datetime(2023, 7, 3, 9, 30, tzinfo=_CST),
        dt.datetime(2023, 7, 3, 1, 35, 27, tzinfo=_UTC),
        1,
        BASE_MANAGER,
        "base_manager",
    ),
    "IncubationExtended.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "agreement_id": _id("agreement:tongxin-2024-extension"),
            "previous_term_end": "2024-07-02",
            "term_end": "2025-07-02",
            "extended_on": "2024-06-20",
        },
        dt.datetime(2024, 6, 20, 11, 0, tzinfo=_CST),
        dt.datetime(2024, 6, 20, 3, 1, 18, tzinfo=_UTC),
        4,
        BASE_MANAGER,
        "base_manager",
    ),
    "SupportRecorded.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "uscc": TONGXIN,
            "base_id": JINSHUI_BASE,
            "support_type": "funding",
            "funding_type": "venture_philanthropy",
            "amount_yuan": "50000.00",
            "description": "2023年金水区公益创投项目“银龄互助·社区守望”资助",
            "given_on": "2023-09-15",
        },
        dt.datetime(2023, 9, 15, 16, 0, tzinfo=_CST),
        dt.datetime(2023, 9, 15, 8, 3, 2, tzinfo=_UTC),
        2,
        BASE_MANAGER,
        "base_manager",
    ),
    "TrainingDelivered.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "session_id": _id("training:2023-10-20"),
            "title": "社会工作服务项目设计与评估实务",
            "held_on": "2023-10-20",
            "hours": "3.5",
            "attendees": 46,
            "agency_usccs": [TONGXIN, ANKANG],
        },
        dt.datetime(2023, 10, 20, 14, 30, tzinfo=_CST),
        dt.datetime(2023, 10, 20, 10, 15, 3, tzinfo=_UTC),
        5,
        BASE_MANAGER,
        "base_manager",
    ),
    "AgencyGraduated.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "graduated_on": "2025-06-30",
            "assessment_summary": "治理结构健全，专职人员持证比例达标，承接政府购买服务项目2个，"
            "2024年度年检合格，未列入信用名单，出壳评估通过",
            "office_id": "301",
            "criteria_version": "2018-1",
        },
        dt.datetime(2025, 6, 30, 10, 0, tzinfo=_CST),
        dt.datetime(2025, 6, 30, 2, 0, 58, tzinfo=_UTC),
        5,
        BASE_MANAGER,
        "base_manager",
    ),
    "IncubationTerminated.v1": _Example(
        {
            "incubation_id": INCUBATION_ANKANG,
            "base_id": JINSHUI_BASE,
            "uscc": ANKANG,
            "office_id": "302",
            "reason": "agreement_breach",
            "terminated_on": "2024-05-10",
            "detail": "将302办公室转借他人从事培训经营活动，违反入孵协议第六条",
        },
        dt.datetime(2024, 5, 10, 15, 0, tzinfo=_CST),
        dt.datetime(2024, 5, 10, 7, 2, 13, tzinfo=_UTC),
        3,
        BASE_MANAGER,
        "base_manager",
    ),
    "IncubationIdentityLinked.v1": _Example(
        {
            "incubation_id": INCUBATION_HUIMIN,
            "base_id": JINSHUI_BASE,
            "provisional_id": GROUP_HUIMIN,
            "uscc": HUIMIN,
            "linked_on": "2024-01-18",
        },
        dt.datetime(2024, 1, 18, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 1, 18, 2, 0, 4, tzinfo=_UTC),
        4,
        "system:incubation.registry-agencies",
        "system",
    ),
    "BaseEvaluated.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "evaluation_id": _id("base-evaluation:jinshui-2024"),
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "offices": 3,
            "offices_occupied": 2,
            "incubations_started": 1,
            "graduations": 1,
            "terminations": 2,
            "funding_yuan": "50000.00",
            "training_sessions": 4,
            "training_hours": "14.50",
            "training_attendees": 160,
            "conclusion": "good",
            "evaluator": "郑州市民政局社会组织管理科",
            "remarks": "场地利用充分，培训开展规律；退驻较多，需加强入孵审核",
            "evaluated_on": "2025-01-20",
        },
        dt.datetime(2025, 1, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2025, 1, 20, 2, 0, 4, tzinfo=_UTC),
        8,
        REGISTRAR,
        "unit_officer",
    ),
    "PublicNoticeOpened.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "agency_name": "郑州市金水区同心社会工作服务中心",
            "starts_on": "2023-05-15",
            "ends_on": "2023-05-19",
        },
        dt.datetime(2023, 5, 15, 9, 0, tzinfo=_CST),
        dt.datetime(2023, 5, 15, 1, 0, 3, tzinfo=_UTC),
        4,
        REGISTRAR,
        "unit_officer",
    ),
    "AdmissionObjectionRecorded.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "objection_id": _id("objection:tongxin-1"),
            "received_on": "2023-05-17",
            "summary": "来信反映该机构专职人员人数与实际不符，请核实",
        },
        dt.datetime(2023, 5, 17, 14, 0, tzinfo=_CST),
        dt.datetime(2023, 5, 17, 6, 0, 8, tzinfo=_UTC),
        5,
        REGISTRAR,
        "unit_officer",
    ),
    "GroupInPreparationRecorded.v1": _Example(
        {
            "provisional_id": GROUP_HUIMIN,
            "base_id": JINSHUI_BASE,
            "name": "郑州市金水区惠民社会工作服务中心",
            "kind": "service_agency",
            "reporting_unit": "jinshui",
            "contact_person": "赵敏",
            "recorded_on": "2023-09-01",
            "register_by": "2024-03-01",
        },
        dt.datetime(2023, 9, 1, 9, 30, tzinfo=_CST),
        dt.datetime(2023, 9, 1, 1, 30, 5, tzinfo=_UTC),
        1,
        BASE_MANAGER,
        "base_manager",
    ),
    "GroupRegistrationOverdue.v1": _Example(
        {
            "provisional_id": GROUP_HUIMIN,
            "base_id": JINSHUI_BASE,
            "register_by": "2024-03-01",
            "overdue_on": "2024-03-02",
        },
        dt.datetime(2024, 3, 2, 0, 0, tzinfo=_CST),
        dt.datetime(2024, 3, 2, 0, 5, 1, tzinfo=_UTC),
        2,
        "system:incubation-clock",
        "system",
    ),
    "GroupRegistered.v1": _Example(
        {
            "provisional_id": GROUP_HUIMIN,
            "base_id": JINSHUI_BASE,
            "uscc": HUIMIN,
            "registered_on": "2024-01-18",
        },
        dt.datetime(2024, 1, 18, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 1, 18, 2, 0, 4, tzinfo=_UTC),
        2,
        "system:incubation.registry-agencies",
        "system",
    ),
    "BaseStaffRecorded.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "full_time": 5,
            "qualified": 3,
            "counted_on": "2024-01-02",
        },
        dt.datetime(2024, 1, 2, 9, 30, tzinfo=_CST),
        dt.datetime(2024, 1, 2, 1, 31, 7, tzinfo=_UTC),
        9,
        BASE_MANAGER,
        "base_manager",
    ),
    "BaseFundingRecorded.v1": _Example(
        {
            "base_id": JINSHUI_BASE,
            "funding_id": _id("base-funding:jinshui-2024-budget"),
            "source": "budget",
            "purpose": "operation",
            "payer": "金水区财政局",
            "amount_yuan": "300000.00",
            "received_on": "2024-03-15",
        },
        dt.datetime(2024, 3, 15, 15, 0, tzinfo=_CST),
        dt.datetime(2024, 3, 15, 7, 0, 3, tzinfo=_UTC),
        10,
        REGISTRAR,
        "unit_officer",
    ),
    "ProfessionalServicesRecorded.v1": _Example(
        {
            "incubation_id": INCUBATION_TONGXIN,
            "base_id": JINSHUI_BASE,
            "uscc": TONGXIN,
            "record_id": _id("services:tongxin-2023-q4"),
            "period_start": "2023-10-01",
            "period_end": "2023-12-31",
            "projects": 2,
            "service_hours": "236.5",
            "beneficiaries": 418,
            "description": "“银龄互助·社区守望”入户探访与社区互助小组",
        },
        dt.datetime(2024, 1, 5, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 1, 5, 2, 0, 9, tzinfo=_UTC),
        5,
        BASE_MANAGER,
        "base_manager",
    ),
    "IncubationTermOverrun.v1": _Example(
        {
            "incubation_id": INCUBATION_ANKANG,
            "base_id": JINSHUI_BASE,
            "uscc": ANKANG,
            "term_end": "2024-07-02",
            "overrun_on": "2024-07-03",
        },
        dt.datetime(2024, 7, 3, 0, 0, tzinfo=_CST),
        dt.datetime(2024, 7, 3, 0, 5, 2, tzinfo=_UTC),
        6,
        "system:incubation-clock",
        "system",
    ),
    "IncubationInactivityFlagged.v1": _Example(
        {
            "incubation_id": INCUBATION_ANKANG,
            "base_id": JINSHUI_BASE,
            "uscc": ANKANG,
            "last_activity_on": "2023-09-15",
            "inactive_days": 90,
            "flagged_on": "2023-12-14",
        },
        dt.datetime(2023, 12, 14, 0, 0, tzinfo=_CST),
        dt.datetime(2023, 12, 14, 0, 5, 2, tzinfo=_UTC),
        5,
        "system:incubation-clock",
        "system",
    ),
    "ViolationRecorded.v1": _Example(
        {
            "violation_id": VIOLATION,
            "uscc": ANKANG,
            "category": "office_subletting",
            "severity": "serious",
            "facts": "检查发现该机构将孵化基地302办公室转借某培训公司开展收费培训",
            "evidence_ref": "JSMZ-JC-2024-0408-01",
            "base_id": JINSHUI_BASE,
            "found_on": "2024-04-08",
        },
        dt.datetime(2024, 4, 8, 10, 30, tzinfo=_CST),
        dt.datetime(2024, 4, 8, 6, 40, 2, tzinfo=_UTC),
        3,
        INSPECTOR,
        "inspector",
    ),
    "RectificationOrdered.v1": _Example(
        {
            "rectification_id": _id("rectification:ankang-1"),
            "uscc": ANKANG,
            "violation_id": VIOLATION,
            "requirements": "立即停止转借行为，收回302办公室，提交书面整改报告",
            "deadline": "2024-04-30",
            "document_number": "金民责改字〔2024〕第12号",
            "ordered_on": "2024-04-09",
        },
        dt.datetime(2024, 4, 9, 9, 0, tzinfo=_CST),
        dt.datetime(2024, 4, 9, 1, 5, 31, tzinfo=_UTC),
        4,
        INSPECTOR,
        "inspector",
    ),
    "RectificationConfirmed.v1": _Example(
        {
            "rectification_id": _id("rectification:ankang-1"),
            "uscc": ANKANG,
            "violation_id": VIOLATION,
            "verification": "现场核查，302办公室已收回，培训公司已撤出，整改报告已提交",
            "confirmed_on": "2024-04-26",
        },
        dt.datetime(2024, 4, 26, 15, 0, tzinfo=_CST),
        dt.datetime(2024, 4, 26, 7, 10, 9, tzinfo=_UTC),
        5,
        INSPECTOR,
        "inspector",
    ),
    "RectificationOverdue.v1": _Example(
        {
            "rectification_id": _id("rectification:ankang-2"),
            "uscc": ANKANG,
            "violation_id": _id("violation:ankang-unrelated"),
            "deadline": "2024-06-14",
            "overdue_on": "2024-06-15",
        },
        dt.datetime(2024, 6, 15, 0, 0, tzinfo=_CST),
        dt.datetime(2024, 6, 14, 16, 0, 3, tzinfo=_UTC),
        8,
        "system:rectification-deadlines",
        "system",
    ),
    "AnnualReportOverdue.v1": _Example(
        {"uscc": ANKANG, "year": 2026, "deadline": "2027-05-31", "overdue_on": "2027-06-01"},
        dt.datetime(2027, 6, 1, 0, 0, tzinfo=_CST),
        dt.datetime(2027, 5, 31, 16, 0, 4, tzinfo=_UTC),
        9,
        "system:supervision-clock",
        "system",
    ),
    "AnnualReportPreliminarilyReviewed.v1": _Example(
        {
            "uscc": ZZ_ASSOCIATION,
            "year": 2026,
            "sponsor": "郑州市民政局",
            "opinion": "材料齐全，同意报送",
            "reviewed_on": "2027-03-25",
            "deadline": "2027-03-31",
            "late": False,
        },
        dt.datetime(2027, 3, 25, 10, 0, tzinfo=_CST),
        dt.datetime(2027, 3, 25, 2, 0, 4, tzinfo=_UTC),
        1,
        INSPECTOR,
        "unit_officer",
    ),
    "AnnualReportFiled.v1": _Example(
        {
            "uscc": ZZ_ASSOCIATION,
            "year": 2026,
            "filed_on": "2027-05-20",
            "deadline": "2027-05-31",
            "late": False,
        },
        dt.datetime(2027, 5, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2027, 5, 20, 2, 0, 4, tzinfo=_UTC),
        2,
        INSPECTOR,
        "unit_officer",
    ),
    "PenaltyImposed.v1": _Example(
        {
            "penalty_id": _id("penalty:ankang-warning"),
            "uscc": ANKANG,
            "kind": "warning",
            "amount_yuan": None,
            "suspended_until": None,
            "violation_id": VIOLATION,
            "document_number": "郑金民罚决字〔2024〕第3号",
            "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条第一款",
            "deciding_department": "郑州市金水区民政局",
            "decided_on": "2024-05-20",
        },
        dt.datetime(2024, 5, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 5, 20, 2, 8, 45, tzinfo=_UTC),
        6,
        INSPECTOR,
        "inspector",
    ),
    "AgencyListed.v1": _Example(
        {
            "listing_id": _id("listing:ankang-abnormal"),
            "uscc": ANKANG,
            "list": "abnormal",
            "ground": "warning_or_small_fine",
            "detail": "受到警告处罚",
            "cause_ref": _id("penalty:ankang-warning"),
            "legal_basis": "《社会组织信用信息管理办法》第十条",
            "listed_on": "2024-05-27",
        },
        dt.datetime(2024, 5, 27, 9, 0, tzinfo=_CST),
        dt.datetime(2024, 5, 27, 1, 3, 12, tzinfo=_UTC),
        7,
        INSPECTOR,
        "inspector",
    ),
    "AgencyDelisted.v1": _Example(
        {
            "listing_id": _id("listing:ankang-abnormal"),
            "uscc": ANKANG,
            "list": "abnormal",
            "reason": "six_months_elapsed",
            "detail": None,
            "removed_on": "2024-11-27",
        },
        dt.datetime(2024, 11, 27, 0, 0, tzinfo=_CST),
        dt.datetime(2024, 11, 26, 16, 0, 2, tzinfo=_UTC),
        12,
        "system:credit-list-clock",
        "system",
    ),
    "ListingClockRestarted.v1": _Example(
        {
            "listing_id": _id("listing:ankang-abnormal"),
            "uscc": ANKANG,
            "list": "abnormal",
            "ground": "warning_or_small_fine",
            "cause_ref": _id("penalty:ankang-second-warning"),
            "restarted_on": "2024-08-12",
        },
        dt.datetime(2024, 8, 12, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 8, 12, 2, 1, 40, tzinfo=_UTC),
        9,
        INSPECTOR,
        "inspector",
    ),
    "CommendationRecorded.v1": _Example(
        {
            "commendation_id": _id("commendation:tongxin-2023"),
            "uscc": TONGXIN,
            "title": "郑州市优秀社会工作服务机构",
            "awarding_body": "郑州市民政局",
            "document_number": "郑民文〔2023〕88号",
            "awarded_on": "2023-12-20",
        },
        dt.datetime(2023, 12, 20, 10, 0, tzinfo=_CST),
        dt.datetime(2023, 12, 21, 1, 15, 2, tzinfo=_UTC),
        2,
        INSPECTOR,
        "inspector",
    ),
    "GovernmentProjectRecorded.v1": _Example(
        {
            "project_id": _id("project:tongxin-elderly-2024"),
            "uscc": TONGXIN,
            "name": "金水区社区居家养老社会工作服务项目",
            "purchaser": "郑州市金水区民政局",
            "amount_yuan": "180000.00",
            "start_on": "2024-03-01",
            "end_on": "2025-02-28",
        },
        dt.datetime(2024, 3, 1, 9, 0, tzinfo=_CST),
        dt.datetime(2024, 3, 4, 2, 30, 0, tzinfo=_UTC),
        4,
        INSPECTOR,
        "inspector",
    ),
    "ProjectPerformanceEvaluated.v1": _Example(
        {
            "evaluation_id": _id("performance:tongxin-elderly-2024"),
            "uscc": TONGXIN,
            "project_id": _id("project:tongxin-elderly-2024"),
            "project_name": "金水区社区居家养老社会工作服务项目",
            "score": "86.5",
            "conclusion": "good",
            "evaluator": "河南省社会工作评估中心",
            "evaluated_on": "2025-03-20",
        },
        dt.datetime(2025, 3, 20, 15, 0, tzinfo=_CST),
        dt.datetime(2025, 3, 21, 3, 0, 0, tzinfo=_UTC),
        5,
        INSPECTOR,
        "inspector",
    ),
    "FollowUpEvaluationRecorded.v1": _Example(
        {
            "evaluation_id": _id("follow-up:tongxin-2025"),
            "uscc": TONGXIN,
            "base_id": JINSHUI_BASE,
            "findings": "出壳后独立运营，承接政府购买服务项目2个，专职人员增至9人",
            "conclusion": "excellent",
            "evaluated_on": "2025-06-30",
        },
        dt.datetime(2025, 6, 30, 16, 0, tzinfo=_CST),
        dt.datetime(2025, 7, 1, 1, 0, 0, tzinfo=_UTC),
        6,
        INSPECTOR,
        "inspector",
    ),
    "AnnualInspectionConcluded.v1": _Example(
        {
            "inspection_id": _id("inspection:tongxin-2023"),
            "uscc": TONGXIN,
            "year": 2023,
            "conclusion": "qualified",
            "remarks": None,
            "concluded_on": "2024-05-31",
        },
        dt.datetime(2024, 5, 31, 16, 0, tzinfo=_CST),
        dt.datetime(2024, 5, 31, 8, 0, 27, tzinfo=_UTC),
        1,
        INSPECTOR,
        "inspector",
    ),
    "EvaluationGradeAwarded.v1": _Example(
        {
            "evaluation_id": _id("evaluation:association-2024"),
            "uscc": ZZ_ASSOCIATION,
            "grade": 4,
            "announced_on": "2024-11-15",
            "valid_from": "2024-11-15",
            "valid_to": "2029-11-14",
        },
        dt.datetime(2024, 11, 15, 10, 0, tzinfo=_CST),
        dt.datetime(2024, 11, 15, 2, 30, 0, tzinfo=_UTC),
        3,
        INSPECTOR,
        "inspector",
    ),
}


def example_message(cls: type[DomainEvent], position: int) -> CloudEvent:
    """The example CloudEvent of an event class; KeyError if it has none."""
    example = EXAMPLES[cls.type_key()]
    event = cls.model_validate(example.data)
    data = event.model_dump(mode="json")
    stream_id = str(data[cls.stream_field])
    key = cls.type_key()
    return CloudEvent(
        id=_id(f"event:{key}"),
        source=f"/socialwork/{cls.producer}",
        type=key,
        subject=stream_id,
        time=example.time,
        dataschema=schema_urn(key),
        data=data,
        streamid=stream_id,
        streamversion=example.stream_version,
        position=position,
        correlationid=_id(f"correlation:{key}"),
        causationid=_id(f"command:{key}"),
        actor=example.actor,
        actorrole=example.actor_role,
        recordedtime=example.recorded,
    )
