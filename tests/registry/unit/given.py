"""Given: an agency's registry stream, decided on with the shared given/when/then helper."""

from __future__ import annotations

from services.registry.domain.agency import Agency, evolve
from services.registry.domain.commands import RegistryCommand
from services.registry.domain.decide import decide
from services.registry.domain.events import RegistryEvent
from tests.domain_spec import DomainSpec, Given


def _decide(state: Agency | None, command: RegistryCommand, _: None) -> list[RegistryEvent]:
    return decide(state, command)  # the registry decides on its stream alone


AGENCIES: DomainSpec[Agency, RegistryCommand, None] = DomainSpec(_decide, evolve)


def given(*events: RegistryEvent) -> Given[Agency, RegistryCommand, None]:
    """Given these events of the agency's stream (none: never registered)."""
    return AGENCIES.given(*events, context=None)


def given_state(state: Agency | None) -> Given[Agency, RegistryCommand, None]:
    """Given an agency already folded (None: never registered)."""
    return AGENCIES.given_state(state, None)
