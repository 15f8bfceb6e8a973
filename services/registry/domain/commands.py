"""What the registry can be asked to do. Frozen, typed only: the rules live in `rules`/`decide`.

Dates come in the command (the registration or amendment date), never from a clock in the domain.
Every text is bounded (`socialwork_contracts.limits`) so that no event can outgrow a Kafka record.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict
from socialwork_contracts.limits import BoundedId, BoundedIds, BoundedName, BoundedText
from socialwork_contracts.registry import AgencyKind


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    uscc: BoundedId  # 统一社会信用代码: the agency's stream id


class RegisterAgency(_Command):
    """Register an agency (登记成立) as civil affairs registered it on `registered_on`."""

    name: BoundedName
    kind: AgencyKind
    reporting_unit: BoundedId
    address: BoundedName
    legal_representative: BoundedName
    sponsor: BoundedName | None = None
    charter_purpose: BoundedText
    charter_scope: BoundedText
    charter_method: BoundedText
    full_time_staff: int
    qualified_staff: int
    service_fields: BoundedIds
    target_groups: BoundedIds
    registered_on: dt.date
    # 注册协助: the provisional id of the group in preparation this registration ends, if any.
    provisional_id: BoundedId | None = None


class AmendAgencyProfile(_Command):
    """Change registered particulars (变更登记). None means "unchanged"; see `remove_sponsor`."""

    amended_on: dt.date  # the reporting unit, if changed, must exist on this day
    name: BoundedName | None = None
    address: BoundedName | None = None
    legal_representative: BoundedName | None = None
    sponsor: BoundedName | None = None
    remove_sponsor: bool = False  # the agency no longer has a 业务主管单位
    reporting_unit: BoundedId | None = None
    charter_purpose: BoundedText | None = None
    charter_scope: BoundedText | None = None
    charter_method: BoundedText | None = None
    service_fields: BoundedIds | None = None
    target_groups: BoundedIds | None = None


class ChangeAgencyStaff(_Command):
    """Record the new full-time and qualified staff counts (guidance §2.2 ratio re-checked)."""

    full_time_staff: int
    qualified_staff: int


class SuspendAgency(_Command):
    """Order the agency to stop activities (限期停止活动), until a day (inclusive) if set."""

    until: dt.date | None = None
    reason: BoundedText
    decision_document: BoundedName | None = None


class ReinstateAgency(_Command):
    """Let a suspended agency act again (恢复活动)."""

    reason: BoundedText


class DeregisterAgency(_Command):
    """Cancel the registration (注销登记). Terminal."""

    reason: BoundedText


class RevokeAgencyRegistration(_Command):
    """Revoke the registration as a penalty (撤销登记). Terminal."""

    reason: BoundedText
    decision_document: BoundedName | None = None
    legal_basis: BoundedText | None = None


RegistryCommand: TypeAlias = (
    RegisterAgency
    | AmendAgencyProfile
    | ChangeAgencyStaff
    | SuspendAgency
    | ReinstateAgency
    | DeregisterAgency
    | RevokeAgencyRegistration
)
