"""Fixtures for the supervision domain tests: a known agency and a helper to run commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest
from socialwork_contracts.base import DomainEvent

from services.registry.domain.uscc import with_check_character
from services.supervision.domain.commands import KnownAgency, SupervisionCommand
from services.supervision.domain.credit_file import CreditFile, evolve
from services.supervision.domain.decide import decide
from services.supervision.domain.events import as_supervision_event

USCC = with_check_character("52410105MJY123456")
BASE = "8a0c5f5e-1111-4c1e-9d64-1f0cbd3f0a01"


@pytest.fixture
def agency() -> KnownAgency:
    """A 金水区 agency registered on 2019-03-01, resident in a base."""
    return KnownAgency(
        USCC, "郑州市金水区向阳社会工作服务中心", "jinshui", dt.date(2019, 3, 1), "active", BASE
    )


class Given:
    """Given events / when command / then events, folding as the service does."""

    def __init__(self, agency: KnownAgency) -> None:
        self.agency = agency
        self.state: CreditFile | None = None
        self.history: list[DomainEvent] = []

    def when(self, command: SupervisionCommand) -> list[DomainEvent]:
        events = decide(self.state, command, self.agency)
        for event in events:
            self.state = evolve(self.state, as_supervision_event(event))
        self.history += events
        return events

    def types(self, events: Sequence[DomainEvent]) -> list[str]:
        return [e.event_type for e in events]


@pytest.fixture
def given(agency: KnownAgency) -> Given:
    return Given(agency)
