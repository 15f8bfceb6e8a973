"""Each event names the payload field holding the date it took effect, and that field is a date."""

from __future__ import annotations

import datetime as dt

from socialwork_contracts.catalog import EVENT_CLASSES
from socialwork_contracts.export import event_schema


def test_a_declared_domain_date_is_a_date_field_of_the_event() -> None:
    for cls in EVENT_CLASSES:
        name = cls.domain_date_field
        if name is not None:
            assert cls.model_fields[name].annotation is dt.date, cls.type_key()


def test_the_schema_publishes_the_domain_date_for_other_languages() -> None:
    published = {cls.type_key(): event_schema(cls)["x-domain-date"] for cls in EVENT_CLASSES}
    assert published["AgencyRegistered.v2"] == "registered_on"
    assert published["ViolationRecorded.v1"] == "found_on"
    assert published["ApplicationSubmitted.v1"] is None
