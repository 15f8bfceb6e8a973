"""How a recorded fact lists an agency or ends its listing: shared by penalties, rectification
and the annual cycle (domain.md: listings are derived from the facts that give their grounds)."""

from __future__ import annotations

import datetime as dt

from socialwork_contracts.base import DomainEvent
from socialwork_contracts.supervision import (
    AgencyDelisted,
    AgencyListed,
    AnnualInspectionConcluded,
    ListingClockRestarted,
    RectificationConfirmed,
)

from services.supervision.domain import rules
from services.supervision.domain.credit_file import CreditFile, Listing, evolve
from services.supervision.domain.policy import credit_policy

GROUNDS_BASIS = {
    "abnormal": "《社会组织信用信息管理办法》活动异常名录列入情形",
    "serious": "《社会组织信用信息管理办法》严重违法失信名单列入情形",
}


def enter_list(
    state: CreditFile | None,
    uscc: str,
    ground: rules.ListingGround,
    cause_ref: str,
    on: dt.date,
) -> list[DomainEvent]:
    """List the agency, or restart the clock of the listing it is already on (same list)."""
    current = state.open_listing(ground.list) if state is not None else None
    if current is not None:
        return [restart_clock(current, uscc, ground.ground, cause_ref, on)]
    return [
        AgencyListed(
            listing_id=rules.derived_listing_id(cause_ref, ground.list),
            uscc=uscc,
            list=ground.list,
            ground=ground.ground,
            detail=ground.detail,
            cause_ref=cause_ref,
            legal_basis=GROUNDS_BASIS[ground.list],
            listed_on=on,
        )
    ]


def delist_if_rectified(
    file: CreditFile, cause_ref: str, fact: RectificationConfirmed | AnnualInspectionConcluded
) -> list[DomainEvent]:
    on = fact.confirmed_on if isinstance(fact, RectificationConfirmed) else fact.concluded_on
    after = evolve(file, fact)
    events: list[DomainEvent] = []
    for listing in after.listings:
        touched = any(c.cause_ref == cause_ref for c in listing.causes)
        if touched and rules.exit_on_verification(listing, on, credit_policy(on)):
            events.append(
                AgencyDelisted(
                    listing_id=listing.listing_id,
                    uscc=file.uscc,
                    list=listing.list,
                    reason="rectification_verified",
                    detail="整改核实后移出活动异常名录",
                    removed_on=on,
                )
            )
    return events


def restart_clock(
    current: Listing, uscc: str, ground: str, cause_ref: str, on: dt.date
) -> ListingClockRestarted:
    """A new ground for the list the agency is already on restarts that listing's clock."""
    return ListingClockRestarted(
        listing_id=current.listing_id,
        uscc=uscc,
        list=current.list,
        ground=ground,
        cause_ref=cause_ref,
        restarted_on=on,
    )
