"""注册协助 in the reports (issue 11 §2): a group's stay and funding follow the agency from the
link, and the group is never counted as an agency of its own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from socialwork_contracts import incubation as inc

from services.reporting.domain.state import fold
from tests.reporting.builders import agency, base, fact, started

D = dt.date
GROUP = "6f1c1d2e-8a7b-4c3d-9e0f-1a2b3c4d5e6f"


def test_the_link_carries_the_stay_and_its_funding_to_the_agency() -> None:
    funding = inc.SupportRecorded(
        incubation_id=f"inc-b1-{GROUP}",
        uscc=GROUP,
        base_id="b1",
        support_type="funding",
        funding_type="seed_fund",
        amount_yuan="20000.00",
        description="种子基金",
        given_on=D(2023, 7, 20),
    )
    link = inc.IncubationIdentityLinked(
        incubation_id=f"inc-b1-{GROUP}",
        base_id="b1",
        provisional_id=GROUP,
        uscc="u1",
        linked_on=D(2023, 9, 1),
    )
    state = fold(
        [
            base("b1", "jinshui", D(2023, 3, 1)),
            started("b1", GROUP, D(2023, 7, 3)),
            fact(funding, D(2023, 7, 20)),
            # The link is recorded the day it happened, after the registration it follows.
            fact(link, D(2023, 9, 1)),
            agency("u1", "jinshui", D(2023, 9, 1)),
        ]
    )
    [stay] = state.incubations.values()
    assert stay.uscc == "u1"
    assert [(f.uscc, f.amount) for f in state.funding] == [("u1", Decimal("20000.00"))]
    assert list(state.agencies) == ["u1"]  # counted once, as the registered agency
