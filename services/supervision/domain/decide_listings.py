"""Listings by hand and their ends: manual grounds, exits by decision, the clock's expiry and
escalation."""

from __future__ import annotations

from typing import TypeAlias, assert_never

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.supervision import (
    AgencyDelisted,
    AgencyListed,
)

from servicekit.decisions import DomainRejected, InvalidTransition, RuleViolation, reject_any
from services.supervision.domain import rules
from services.supervision.domain.commands import (
    DelistAgency,
    EscalateListing,
    ExpireListing,
    KnownAgency,
    ListAgency,
)
from services.supervision.domain.credit_file import CreditFile
from services.supervision.domain.guards import (
    existing_file,
    known,
    new_id,
    not_before,
    open_listing_in,
    required_text,
)
from services.supervision.domain.listing_entry import enter_list, restart_clock
from services.supervision.domain.policy import credit_policy

ListingCommand: TypeAlias = ListAgency | DelistAgency | ExpireListing | EscalateListing


def decide_listing(
    state: CreditFile | None, command: ListingCommand, agency: KnownAgency | None
) -> list[DomainEvent]:
    """The events of a listing by hand or of a listing's end."""
    match command:
        case ListAgency():
            known(agency, command.uscc)
            return list_by_hand(state, command)
        case DelistAgency():
            return [delist_by_decision(existing_file(state, command.uscc), command)]
        case ExpireListing():
            return [expire(existing_file(state, command.uscc), command)]
        case EscalateListing():
            return escalate(existing_file(state, command.uscc), command)
        case _:
            assert_never(command)


def list_by_hand(state: CreditFile | None, command: ListAgency) -> list[DomainEvent]:
    """Grounds the facts here cannot give (unreachable, no Party organisation, court lists...)."""
    if command.ground not in rules.MANUAL_GROUNDS[command.list]:
        raise DomainRejected(
            [
                RuleViolation(
                    "ground_derived_or_unknown",
                    "ground",
                    "该事由由已记录的事实自动产生，或不存在，不能手工列入",
                    f"{command.ground} is derived from recorded facts or unknown",
                )
            ]
        )
    reject_any(
        new_id(state, "listing_id", command.listing_id)
        + required_text("detail", command.detail, "说明")
        + required_text("legal_basis", command.legal_basis, "法律依据")
    )
    current = state.open_listing(command.list) if state is not None else None
    if current is not None:
        return [
            restart_clock(
                current, command.uscc, command.ground, command.listing_id, command.listed_on
            )
        ]
    return [
        AgencyListed(
            listing_id=command.listing_id,
            uscc=command.uscc,
            list=command.list,
            ground=command.ground,
            detail=command.detail,
            cause_ref=None,
            legal_basis=command.legal_basis,
            listed_on=command.listed_on,
        )
    ]


def delist_by_decision(file: CreditFile, command: DelistAgency) -> AgencyDelisted:
    """Exit by decision: verified rectification of a manual ground, 2 years on the serious list
    with no new ground (on application), deregistration after revocation, or withdrawal."""
    listing = open_listing_in(file, command.listing_id)
    problems = required_text("detail", command.detail, "说明") + not_before(
        "removed_on", command.removed_on, listing.clock_from, "移出日期"
    )
    policy = credit_policy(command.removed_on)
    reason = command.reason
    if reason == "two_years_no_new_ground":
        eligible = rules.serious_exit_from(listing, policy)
        if eligible is None or command.removed_on < eligible:
            problems.append(
                RuleViolation(
                    "too_early_to_exit",
                    "removed_on",
                    f"须自{eligible}起方可申请移出严重违法失信名单",
                    f"the agency may apply to leave the serious list from {eligible}",
                )
            )
    elif reason == "deregistration_completed":
        if listing.list != "serious" or all(c.ground != "revoked" for c in listing.causes):
            problems.append(
                RuleViolation(
                    "not_revoked", "reason", "仅被撤销登记的机构注销后移出", "not a revocation"
                )
            )
    elif reason == "rectification_verified":
        manual = rules.MANUAL_GROUNDS["abnormal"]
        if listing.list != "abnormal" or any(
            c.needs_rectification and c.ground not in manual and not c.rectified
            for c in listing.causes
        ):
            problems.append(
                RuleViolation(
                    "rectification_recorded_elsewhere",
                    "reason",
                    "逾期整改或年报事由须通过确认整改或补报年报移出",
                    "confirm the rectification or file the report; the exit follows from it",
                )
            )
    reject_any(problems)
    return AgencyDelisted(
        listing_id=listing.listing_id,
        uscc=command.uscc,
        list=listing.list,
        reason=reason,
        detail=command.detail,
        removed_on=command.removed_on,
    )


def expire(file: CreditFile, command: ExpireListing) -> AgencyDelisted:
    """Time alone: 6 months on the abnormal list with nothing to put right."""
    listing = open_listing_in(file, command.listing_id)
    due = rules.auto_exit_on(listing, credit_policy(listing.clock_from))
    if due is None or due != command.removed_on:
        raise InvalidTransition(
            "not_due", "该名录记录未到自动移出日期", f"the listing is not due to end on {due}"
        )
    return AgencyDelisted(
        listing_id=listing.listing_id,
        uscc=command.uscc,
        list=listing.list,
        reason="six_months_elapsed",
        detail="列入满6个月且无需整改，自动移出",
        removed_on=due,
    )


def escalate(file: CreditFile, command: EscalateListing) -> list[DomainEvent]:
    """Time alone: 2 full years on the abnormal list -> the serious list."""
    listing = open_listing_in(file, command.listing_id)
    due = rules.escalation_on(listing, credit_policy(listing.clock_from))
    if due is None or due != command.escalated_on:
        raise InvalidTransition(
            "not_due", "该名录记录未到转入日期", f"the listing is not due to escalate on {due}"
        )
    delisted = AgencyDelisted(
        listing_id=listing.listing_id,
        uscc=command.uscc,
        list="abnormal",
        reason="escalated_to_serious",
        detail="列入活动异常名录满2年，转入严重违法失信名单",
        removed_on=due,
    )
    ground = rules.ListingGround("serious", "abnormal_two_years", "列入活动异常名录满2年")
    return [delisted, *enter_list(file, command.uscc, ground, listing.listing_id, due)]
