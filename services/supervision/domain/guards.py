"""Checks shared by supervision's decisions: the agency and records a command names exist,
ids are new, required texts are given, dates are in order."""

from __future__ import annotations

import datetime as dt

from servicekit.decisions import DomainRejected, InvalidTransition, RuleViolation, present
from services.supervision.domain import inspection
from services.supervision.domain.commands import (
    KnownAgency,
)
from services.supervision.domain.credit_file import CreditFile, Listing, Rectification
from services.supervision.domain.policy import InspectionPolicy


def agency_not_found(uscc: str) -> InvalidTransition:
    """The refusal for an agency supervision has not learnt of from the registry (404)."""
    return InvalidTransition(
        "agency_not_found",
        f"未找到统一社会信用代码为{uscc}的机构",
        f"no agency with credit code {uscc} is known to supervision",
    )


def known(agency: KnownAgency | None, uscc: str) -> KnownAgency:
    return present(agency, agency_not_found(uscc))


def existing_file(state: CreditFile | None, uscc: str) -> CreditFile:
    return present(
        state,
        InvalidTransition(
            "credit_file_not_found",
            f"机构{uscc}尚无诚信档案记录",
            f"the credit file of {uscc} has no records yet",
        ),
    )


def new_id(state: CreditFile | None, field: str, value: str) -> list[RuleViolation]:
    if state is not None and state.has_id(value):
        return [RuleViolation("duplicate_id", field, f"编号{value}已被使用", f"{value} is used")]
    if not value.strip():
        return [RuleViolation("required", field, "编号不能为空", "an id is required")]
    return []


def required_text(field: str, value: str | None, zh: str) -> list[RuleViolation]:
    if value is None or not value.strip():
        return [RuleViolation("required", field, f"{zh}不能为空", f"{field} is required")]
    return []


def not_before(field: str, day: dt.date, earliest: dt.date, zh: str) -> list[RuleViolation]:
    if day < earliest:
        return [
            RuleViolation(
                "date_too_early", field, f"{zh}不能早于{earliest}", f"{field} before {earliest}"
            )
        ]
    return []


def rectification_in(file: CreditFile, rectification_id: str) -> Rectification:
    found = file.rectification(rectification_id)
    return present(
        found,
        InvalidTransition(
            "rectification_not_found",
            f"未找到整改记录{rectification_id}",
            f"no rectification {rectification_id} in this credit file",
        ),
    )


def open_listing_in(file: CreditFile, listing_id: str) -> Listing:
    found = file.listing(listing_id)
    if found is None or not found.is_open:
        raise InvalidTransition(
            "listing_not_found",
            f"未找到在列的名录记录{listing_id}",
            f"no open listing {listing_id} in this credit file",
        )
    return found


def overdue_on(given: dt.date, expected: dt.date, what: str) -> None:
    """A clock's command names the day the thing became overdue; any other day is refused."""
    if given != expected:
        raise DomainRejected(
            [
                RuleViolation(
                    "not_overdue_on",
                    "overdue_on",
                    f"逾期日期应为{expected}",
                    f"the {what} becomes overdue on {expected}",
                )
            ]
        )


def exempt_year(registered_on: dt.date, year: int, policy: InspectionPolicy) -> list[RuleViolation]:
    """guidance: a year in which the agency was registered less than six months is exempt."""
    if not inspection.exempt(registered_on, year, policy):
        return []
    return [
        RuleViolation(
            "exempt_year",
            "year",
            "登记不满6个月的年度免于年检",
            "registered less than six months before 31 December: exempt that year",
        )
    ]
