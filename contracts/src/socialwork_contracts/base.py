"""The base of every public event: frozen, plain fields, explicit type name and version."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

DECIMAL_PATTERN = r"^\d+(\.\d{1,2})?$"
# Money (yuan), areas and hours: a non-negative decimal with at most two places, carried as a
# string so that no consumer rounds it through a binary float.
DecimalString = Annotated[str, Field(pattern=DECIMAL_PATTERN)]


class DomainEvent(BaseModel):
    """A fact that happened. Never edited; corrected only by a later event.

    `event_type` and `event_version` are the stored and published name (never a Python path).
    Events carry no validation beyond types: a stored event must always load again.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    event_version: ClassVar[int]
    # The Kafka topic's producing service ("registry", "incubation", "supervision").
    producer: ClassVar[str]
    # The payload field holding the stream (aggregate) id: the CloudEvent `subject` and
    # `streamid`, and the Kafka message key, so all events of one aggregate stay in order.
    stream_field: ClassVar[str]
    # The payload field holding the local date the fact took effect (the day a report "as of D
    # by occurrence" counts it from); None: the local date of its occurrence time. Published
    # as `x-domain-date` in the event's schema.
    domain_date_field: ClassVar[str | None] = None

    @classmethod
    def type_key(cls) -> str:
        """`AgencyRegistered.v2` - the name used in CloudEvents `type` and in schema file names."""
        return f"{cls.event_type}.v{cls.event_version}"
