"""Credit-list rules (domain.md "Supervision"; national credit rules 2018), pure.

Every date rule here follows `periods` (one convention, docs/supervision.md) and reads its
figures from the policy in force on the decision date.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from socialwork_contracts.supervision import CreditList, PenaltyKind

from services.supervision.domain.credit_file import CreditFile, Listing, Penalty
from services.supervision.domain.periods import add_months, within_months_before
from services.supervision.domain.policy import CreditPolicy

# Deterministic ids for listings a decision derives (no random ids in the domain).
_LISTING_NAMESPACE = uuid.UUID("6f1d3c2e-5a7b-4c8d-9e0f-1a2b3c4d5e6f")

# Grounds a person may enter by hand; every other ground is derived from recorded facts.
MANUAL_GROUNDS: dict[CreditList, frozenset[str]] = {
    "abnormal": frozenset({"unreachable", "no_party_organisation", "other"}),
    "serious": frozenset({"dishonest_debtor", "fraudulent_change", "other"}),
}


@dataclass(frozen=True, slots=True)
class ListingGround:
    """A reason, found in the facts, to put the agency on a list."""

    list: CreditList
    ground: str
    detail: str


def derived_listing_id(cause_ref: str, credit_list: CreditList) -> str:
    """The id of a listing derived from a cause (a penalty, rectification, inspection...)."""
    return str(uuid.uuid5(_LISTING_NAMESPACE, f"{cause_ref}:{credit_list}"))


def is_small_penalty(kind: PenaltyKind, amount: Decimal | None, policy: CreditPolicy) -> bool:
    """A warning, or a fine under the large-fine threshold (¥50,000)."""
    if kind == "warning":
        return True
    return kind == "fine" and amount is not None and amount < policy.large_fine_yuan


def small_penalties_within_window(
    earlier: tuple[Penalty, ...], decided_on: dt.date, policy: CreditPolicy
) -> int:
    """How many earlier warnings or small fines fall within the window before `decided_on`."""
    return sum(
        1
        for p in earlier
        if is_small_penalty(p.kind, p.amount_yuan, policy)
        and within_months_before(p.decided_on, decided_on, policy.repeat_window_months)
    )


def penalty_grounds(
    file: CreditFile | None,
    kind: PenaltyKind,
    amount: Decimal | None,
    decided_on: dt.date,
    policy: CreditPolicy,
) -> list[ListingGround]:
    """The listings a penalty brings, from the facts alone (never typed in by hand)."""
    grounds: list[ListingGround] = []
    if is_small_penalty(kind, amount, policy):
        grounds.append(ListingGround("abnormal", "warning_or_small_fine", "受到警告或较小数额罚款"))
        earlier = file.penalties if file is not None else ()
        if small_penalties_within_window(earlier, decided_on, policy) + 1 >= policy.repeat_count:
            months = policy.repeat_window_months
            grounds.append(
                ListingGround(
                    "serious",
                    "repeated_penalties",
                    f"{months // 12}年内{policy.repeat_count}次以上警告或较小数额罚款",
                )
            )
    elif kind == "fine":
        grounds.append(ListingGround("serious", "large_fine", "受到5万元以上罚款"))
    elif kind in SANCTION_GROUNDS:
        grounds.append(SANCTION_GROUNDS[kind])
    return grounds  # confiscation alone is no listing ground


# Registration sanctions list the agency whichever service recorded them (domain.md).
SANCTION_GROUNDS: dict[PenaltyKind, ListingGround] = {
    "suspension": ListingGround("serious", "suspension", "受到限期停止活动处罚"),
    "revocation": ListingGround("serious", "revoked", "被撤销登记"),
}


def auto_exit_on(listing: Listing, policy: CreditPolicy) -> dt.date | None:
    """When an abnormal listing ends by itself: 6 months after its clock, nothing to rectify."""
    if not listing.is_open or listing.list != "abnormal" or listing.pending_rectification:
        return None
    if not listing.auto_exit_grounds:
        return None  # rectified grounds only: it ends on verification, not by the clock
    return add_months(listing.clock_from, policy.abnormal_auto_exit_months)


def escalation_on(listing: Listing, policy: CreditPolicy) -> dt.date | None:
    """When an abnormal listing still awaiting rectification moves to the serious list."""
    if not listing.is_open or listing.list != "abnormal" or not listing.pending_rectification:
        return None
    return add_months(listing.clock_from, policy.abnormal_escalation_months)


def serious_exit_from(listing: Listing, policy: CreditPolicy) -> dt.date | None:
    """First day the agency may apply to leave the serious list (2 years with no new ground)."""
    if not listing.is_open or listing.list != "serious":
        return None
    return add_months(listing.clock_from, policy.serious_exit_months)


def exit_on_verification(listing: Listing, verified_on: dt.date, policy: CreditPolicy) -> bool:
    """After a verification: does the abnormal listing end now (nothing left to put right)?"""
    if not listing.is_open or listing.list != "abnormal" or listing.pending_rectification:
        return False
    due = auto_exit_on(listing, policy)
    return due is None or due <= verified_on
