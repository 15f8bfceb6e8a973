"""The CloudEvents 1.0 envelope every event travels in (structured mode JSON on Kafka)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
SCHEMA_URN_PREFIX = "urn:socialwork:schema:"


def schema_urn(type_key: str) -> str:
    """The `dataschema` of an event type: names the file `schemas/events/<type_key>.json`."""
    return f"{SCHEMA_URN_PREFIX}{type_key}"


class CloudEvent(BaseModel):
    """CloudEvents 1.0 envelope with this platform's extension attributes.

    Extension names follow the CloudEvents naming rule (lower-case letters and digits only).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = Field(default="1.0", description="CloudEvents version")
    id: str = Field(description="Event id (UUID). Consumers drop a second event with the same id.")
    source: str = Field(description="Producing service, e.g. `/socialwork/registry`")
    type: str = Field(
        description="Event type name and version, `<Name>.v<N>`, e.g. `AgencyRegistered.v2`"
    )
    subject: str = Field(description="The aggregate the event is about (same as `streamid`)")
    time: dt.datetime = Field(
        description="When the fact happened (occurred time; may be backdated), RFC 3339"
    )
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Encoding of `data`"
    )
    dataschema: str = Field(
        description="URN of the JSON Schema of `data`: `urn:socialwork:schema:<type>` names "
        "`schemas/events/<type>.json`"
    )
    data: dict[str, Any] = Field(description="The event payload, valid against `dataschema`")

    streamid: str = Field(description="Extension: aggregate (stream) id; also the Kafka key")
    streamversion: int = Field(
        description="Extension: version of the stream after this event (1-based)"
    )
    position: int = Field(
        description="Extension: global position in the producing service's store; unique per "
        "producer and increasing within a stream (not contiguous; across streams, events are "
        "published in commit order, which may differ from position order)"
    )
    storeid: str | None = Field(
        default=None,
        description="Extension: identity of the producing store. A stream is identified by "
        "(`storeid`, `streamid`): a store re-created from scratch starts new histories",
    )
    correlationid: str = Field(description="Extension: id shared by everything one request caused")
    causationid: str = Field(
        description="Extension: id of the command or event that caused this one"
    )
    actor: str = Field(description="Extension: who acted (user id, or `system:<process>`)")
    actorrole: str = Field(description="Extension: the role the actor acted in")
    recordedtime: dt.datetime = Field(
        description="Extension: when the system recorded the fact (apart from `time`), RFC 3339"
    )


def kafka_headers(event: CloudEvent) -> dict[str, str]:
    """`ce_*` headers copied from the structured body so brokers and routers filter cheaply."""
    return {
        "content-type": CONTENT_TYPE,
        "ce_specversion": event.specversion,
        "ce_id": event.id,
        "ce_source": event.source,
        "ce_type": event.type,
        "ce_subject": event.subject,
        "ce_time": event.time.isoformat(),
    }
