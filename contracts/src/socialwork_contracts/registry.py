"""Events published by the registry service (topic `socialwork.registry.events`).

The stream (aggregate) of every event here is one agency, keyed by its unified social credit code.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field

from socialwork_contracts.base import DomainEvent

AgencyKind = Literal["service_agency", "association"]

_USCC = "统一社会信用代码 (unified social credit code, 18 characters, GB 32100-2015); the agency id"


class _RegistryEvent(DomainEvent):
    producer: ClassVar[str] = "registry"
    stream_field: ClassVar[str] = "uscc"
    uscc: str = Field(description=_USCC)


class AgencyRegisteredV1(_RegistryEvent):
    """Historical shape of AgencyRegistered (one `locality` field); read as v2 by the upcaster."""

    event_type: ClassVar[str] = "AgencyRegistered"
    event_version: ClassVar[int] = 1

    name: str = Field(description="机构名称 registered name")
    kind: AgencyKind = Field(
        description="service_agency 民办社会工作服务机构 | association 社会工作协会"
    )
    locality: str = Field(description="Reporting unit id (see reference/localities.json)")
    address: str = Field(description="住所 registered address")
    legal_representative: str = Field(description="法定代表人")
    charter_purpose: str = Field(description="章程：社会工作服务宗旨")
    charter_scope: str = Field(description="章程：业务范围")
    charter_method: str = Field(description="章程：服务方式")
    full_time_staff: int = Field(description="专职工作人员人数")
    qualified_staff: int = Field(description="持证或社工本科以上学历的专职人员人数")
    service_fields: list[str] = Field(description="服务领域 ids (reference/service_fields.json)")
    target_groups: list[str] = Field(description="服务对象 ids (reference/target_groups.json)")
    priority: bool = Field(description="重点机构 (derived: serves a priority group or field, §2.1)")
    registered_on: dt.date = Field(description="登记日期 date of registration by civil affairs")


class AgencyRegistered(_RegistryEvent):
    """An agency was registered by civil affairs (登记成立)."""

    event_type: ClassVar[str] = "AgencyRegistered"
    event_version: ClassVar[int] = 2
    domain_date_field: ClassVar[str | None] = "registered_on"

    name: str = Field(description="机构名称 registered name")
    kind: AgencyKind = Field(
        description="service_agency 民办社会工作服务机构 | association 社会工作协会"
    )
    reporting_unit: str = Field(
        description="统计单位 reporting unit id, one of the 16 (reference/localities.json)"
    )
    county_code: str | None = Field(
        description="行政区划代码 GB/T 2260 county code; null for functional zones without one"
    )
    address: str = Field(description="住所 registered address")
    legal_representative: str = Field(description="法定代表人")
    sponsor: str | None = Field(default=None, description="业务主管单位 supervising unit, if any")
    charter_purpose: str = Field(description="章程：社会工作服务宗旨")
    charter_scope: str = Field(description="章程：业务范围")
    charter_method: str = Field(description="章程：服务方式")
    full_time_staff: int = Field(description="专职工作人员人数")
    qualified_staff: int = Field(
        description="持社会工作者职业水平证书或社会工作本科及以上学历的专职人员人数"
    )
    service_fields: list[str] = Field(description="服务领域 ids (reference/service_fields.json)")
    target_groups: list[str] = Field(description="服务对象 ids (reference/target_groups.json)")
    priority: bool = Field(description="重点机构 (derived: serves a priority group or field, §2.1)")
    registered_on: dt.date = Field(description="登记日期 date of registration by civil affairs")
    provisional_id: str | None = Field(
        default=None,
        description="临时标识 of the group in preparation (注册协助, incubation's "
        "`GroupInPreparationRecorded`) this registration ends; null when none. Added in 1.2.0",
    )


class AgencyProfileAmended(_RegistryEvent):
    """Registered particulars changed (变更登记). Only the fields that changed are present."""

    event_type: ClassVar[str] = "AgencyProfileAmended"
    event_version: ClassVar[int] = 1

    name: str | None = Field(default=None, description="新名称 new name")
    address: str | None = Field(default=None, description="新住所 new address")
    legal_representative: str | None = Field(default=None, description="新法定代表人")
    sponsor: str | None = Field(default=None, description="新业务主管单位")
    reporting_unit: str | None = Field(default=None, description="新统计单位 id")
    county_code: str | None = Field(default=None, description="新行政区划代码")
    charter_purpose: str | None = Field(default=None, description="章程宗旨（修改后）")
    charter_scope: str | None = Field(default=None, description="章程业务范围（修改后）")
    charter_method: str | None = Field(default=None, description="章程服务方式（修改后）")
    service_fields: list[str] | None = Field(default=None, description="服务领域（修改后）")
    target_groups: list[str] | None = Field(default=None, description="服务对象（修改后）")
    priority: bool = Field(description="重点机构 after the amendment (re-derived)")
    changed_fields: list[str] = Field(description="Names of the fields this amendment changed")


class AgencyStaffChanged(_RegistryEvent):
    """Full-time staff changed; the qualified share is re-checked (§2.2)."""

    event_type: ClassVar[str] = "AgencyStaffChanged"
    event_version: ClassVar[int] = 1

    full_time_staff: int = Field(description="专职工作人员人数（变更后）")
    qualified_staff: int = Field(description="持证或社工本科以上学历的专职人员人数（变更后）")


class QualifiedStaffShareFellShort(_RegistryEvent):
    """After a staff change, fewer than a third of full-time staff are qualified (§2.2).

    Recorded with the change that caused it (the change is a fact, not refused); supervision
    records it as a violation an officer can order rectified.
    """

    event_type: ClassVar[str] = "QualifiedStaffShareFellShort"
    event_version: ClassVar[int] = 1

    full_time_staff: int = Field(description="专职工作人员人数（变更后）")
    qualified_staff: int = Field(description="持证或社工本科以上学历的专职人员人数（变更后）")
    required_qualified_staff: int = Field(description="应有持证人数 ⌈专职人数 ÷ 3⌉")


class AgencySuspended(_RegistryEvent):
    """Ordered to stop activities for a period (限期停止活动)."""

    event_type: ClassVar[str] = "AgencySuspended"
    event_version: ClassVar[int] = 1

    until: dt.date | None = Field(description="停止活动截止日期 (inclusive), if set")
    reason: str = Field(description="原因")
    decision_document: str | None = Field(default=None, description="决定书文号")


class AgencyReinstated(_RegistryEvent):
    """A suspended agency may act again (恢复活动)."""

    event_type: ClassVar[str] = "AgencyReinstated"
    event_version: ClassVar[int] = 1

    reason: str = Field(description="原因")


class AgencyDeregistered(_RegistryEvent):
    """Registration cancelled (注销登记). Terminal."""

    event_type: ClassVar[str] = "AgencyDeregistered"
    event_version: ClassVar[int] = 1

    reason: str = Field(description="注销原因")


class AgencyRegistrationRevoked(_RegistryEvent):
    """Registration revoked as a penalty (撤销登记). Terminal."""

    event_type: ClassVar[str] = "AgencyRegistrationRevoked"
    event_version: ClassVar[int] = 1

    reason: str = Field(description="撤销原因")
    decision_document: str | None = Field(default=None, description="处罚决定书文号")
    legal_basis: str | None = Field(default=None, description="法律依据")


EVENTS: tuple[type[DomainEvent], ...] = (
    AgencyRegisteredV1,
    AgencyRegistered,
    AgencyProfileAmended,
    AgencyStaffChanged,
    QualifiedStaffShareFellShort,
    AgencySuspended,
    AgencyReinstated,
    AgencyDeregistered,
    AgencyRegistrationRevoked,
)
