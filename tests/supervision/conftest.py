"""Fixtures for the supervision domain tests: a known agency, and its credit file to decide on."""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.base import DomainEvent

from services.registry.domain.uscc import with_check_character
from services.supervision.domain.commands import KnownAgency, SupervisionCommand
from services.supervision.domain.credit_file import CreditFile, evolve
from services.supervision.domain.decide import decide
from services.supervision.domain.events import as_supervision_event
from tests.domain_spec import DomainSpec, Given

USCC = with_check_character("52410105MJY123456")
BASE = "8a0c5f5e-1111-4c1e-9d64-1f0cbd3f0a01"


@pytest.fixture
def agency() -> KnownAgency:
    """A 金水区 agency registered on 2019-03-01, resident in a base."""
    return KnownAgency(
        USCC, "郑州市金水区向阳社会工作服务中心", "jinshui", dt.date(2019, 3, 1), "active", BASE
    )


def _evolve(state: CreditFile | None, event: DomainEvent) -> CreditFile:
    return evolve(state, as_supervision_event(event))


# A credit file's decisions see, beyond the file, what supervision knows of the agency.
CREDIT_FILE: DomainSpec[CreditFile, SupervisionCommand, KnownAgency | None] = DomainSpec(
    decide, _evolve
)
CreditFileGiven = Given[CreditFile, SupervisionCommand, KnownAgency | None]


@pytest.fixture
def given(agency: KnownAgency) -> CreditFileGiven:
    """Given a new credit file of a known agency."""
    return CREDIT_FILE.given(context=agency)
