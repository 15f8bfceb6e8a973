"""A stored fact's event read from its payload's JSON text (the agency summaries' fold) is the
event `catalog.load` gives from the decoded payload, older versions upcast alike."""

from __future__ import annotations

import json

import pytest
from socialwork_contracts.catalog import UnknownEventType, load
from socialwork_contracts.examples import EXAMPLES

from services.reporting.domain.facts import event_of_json


@pytest.mark.parametrize("type_key", sorted(EXAMPLES))
def test_an_event_from_its_json_text_is_the_catalogs_event(type_key: str) -> None:
    event_type, _, version = type_key.rpartition(".v")
    # As PostgreSQL gives jsonb back as text (`data::text`): spaces after separators.
    stored = json.dumps(EXAMPLES[type_key].data, ensure_ascii=False)
    expected = load(event_type, int(version), json.loads(stored))
    assert event_of_json(event_type, int(version), stored) == expected


@pytest.mark.parametrize(
    ("event_type", "version"), [("SomethingLater", 1), ("AgencyRegistered", 99)]
)
def test_a_type_or_version_this_build_does_not_know_is_refused_as_the_catalog_refuses_it(
    event_type: str, version: int
) -> None:
    with pytest.raises(UnknownEventType):
        event_of_json(event_type, version, "{}")
