"""Registration status and its transitions (domain.md: active ⇄ suspended; → deregistered |
revoked)."""

from __future__ import annotations

from socialwork_contracts.registry import (
    AgencyDeregistered,
    AgencyRegistrationRevoked,
    AgencyReinstated,
    AgencySuspended,
)

from servicekit.decisions import InvalidTransition, present, reject_any
from services.registry.domain import rules
from services.registry.domain.agency import Agency
from services.registry.domain.commands import (
    DeregisterAgency,
    ReinstateAgency,
    RevokeAgencyRegistration,
    SuspendAgency,
)


def registered_agency(state: Agency | None, uscc: str) -> Agency:
    """The agency, or InvalidTransition `agency_not_found` when the code was never registered."""
    return present(
        state,
        InvalidTransition(
            "agency_not_found",
            f"未找到统一社会信用代码为{uscc}的机构",
            f"no agency is registered with credit code {uscc}",
        ),
    )


def open_agency(state: Agency | None, uscc: str) -> Agency:
    """The agency if active or suspended; `agency_closed` once deregistered or revoked."""
    agency = registered_agency(state, uscc)
    if agency.is_closed:
        status_zh = "已注销" if agency.status == "deregistered" else "已被撤销登记"
        raise InvalidTransition(
            "agency_closed",
            f"该机构{status_zh}",
            f"the agency is {agency.status}; its registration is closed",
        )
    return agency


def suspend(state: Agency | None, command: SuspendAgency) -> AgencySuspended:
    """active → suspended (限期停止活动)."""
    agency = open_agency(state, command.uscc)
    if agency.status == "suspended":
        raise InvalidTransition(
            "already_suspended", "该机构已在停止活动期间", "the agency is already suspended"
        )
    reject_any(
        rules.text_present("reason", command.reason, "原因", "reason")
        + rules.optional_text_present(
            "decision_document", command.decision_document, "决定书文号", "decision document"
        )
    )
    return AgencySuspended(
        uscc=agency.uscc,
        until=command.until,
        reason=command.reason,
        decision_document=command.decision_document,
    )


def reinstate(state: Agency | None, command: ReinstateAgency) -> AgencyReinstated:
    """suspended → active (恢复活动)."""
    agency = open_agency(state, command.uscc)
    if agency.status != "suspended":
        raise InvalidTransition(
            "not_suspended", "该机构未被停止活动，无需恢复", "the agency is not suspended"
        )
    reject_any(rules.text_present("reason", command.reason, "原因", "reason"))
    return AgencyReinstated(uscc=agency.uscc, reason=command.reason)


def deregister(state: Agency | None, command: DeregisterAgency) -> AgencyDeregistered:
    """active | suspended → deregistered (注销登记, terminal)."""
    agency = open_agency(state, command.uscc)
    reject_any(rules.text_present("reason", command.reason, "注销原因", "reason"))
    return AgencyDeregistered(uscc=agency.uscc, reason=command.reason)


def revoke_registration(
    state: Agency | None, command: RevokeAgencyRegistration
) -> AgencyRegistrationRevoked:
    """active | suspended → revoked (撤销登记, terminal)."""
    agency = open_agency(state, command.uscc)
    reject_any(
        rules.text_present("reason", command.reason, "撤销原因", "reason")
        + rules.optional_text_present(
            "decision_document", command.decision_document, "处罚决定书文号", "decision document"
        )
        + rules.optional_text_present("legal_basis", command.legal_basis, "法律依据", "legal basis")
    )
    return AgencyRegistrationRevoked(
        uscc=agency.uscc,
        reason=command.reason,
        decision_document=command.decision_document,
        legal_basis=command.legal_basis,
    )
