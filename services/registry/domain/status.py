"""Guards on registration status (domain.md: active ⇄ suspended; → deregistered | revoked)."""

from __future__ import annotations

from servicekit.decisions import InvalidTransition
from services.registry.domain.agency import Agency


def registered_agency(state: Agency | None, uscc: str) -> Agency:
    """The agency, or InvalidTransition `agency_not_found` when the code was never registered."""
    if state is None:
        raise InvalidTransition(
            "agency_not_found",
            f"未找到统一社会信用代码为{uscc}的机构",
            f"no agency is registered with credit code {uscc}",
        )
    return state


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
