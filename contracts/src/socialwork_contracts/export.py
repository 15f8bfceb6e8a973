"""Write the generated contract files: JSON Schemas, example messages and the AsyncAPI document.

    python -m socialwork_contracts.export            # (re)write them under contracts/
    python -m socialwork_contracts.export --check    # exit 1 naming each file that drifted
    python -m socialwork_contracts.export --out DIR  # write (or check) under DIR instead

Output is deterministic (sorted keys, fixed order, UTF-8, trailing newline), so the committed
files can be compared with freshly generated ones in CI.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from socialwork_contracts import __version__
from socialwork_contracts.base import DomainEvent
from socialwork_contracts.catalog import CURRENT_VERSION, EVENT_CLASSES
from socialwork_contracts.envelope import CONTENT_TYPE, SCHEMA_URN_PREFIX, CloudEvent, schema_urn
from socialwork_contracts.examples import example_message
from socialwork_contracts.topics import (
    DEAD_LETTER_HEADERS,
    EVENT_TOPICS,
    TopicSpec,
    dead_letter_topic,
    topic_of,
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_SCHEMA_ID = f"{SCHEMA_URN_PREFIX}envelope"
ASYNCAPI_FILE = "asyncapi.yaml"
ENVELOPE_FILE = "schemas/envelope.json"
# Folders whose *.json files are all generated: a file there that is no longer generated is stale.
GENERATED_DIRS = ("schemas", "schemas/events", "examples")
KAFKA_BINDING_VERSION = "0.5.0"


def event_schema_file(cls: type[DomainEvent]) -> str:
    return f"schemas/events/{cls.type_key()}.json"


def example_file(cls: type[DomainEvent]) -> str:
    return f"examples/{cls.type_key()}.json"


def to_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def event_schema(cls: type[DomainEvent]) -> dict[str, Any]:
    """JSON Schema (2020-12) of an event's `data`, with its URN and where it is published."""
    schema = cls.model_json_schema(mode="serialization")
    topic = topic_of(cls.producer)
    superseded = cls.event_version < CURRENT_VERSION[cls.event_type]
    schema.update(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": schema_urn(cls.type_key()),
            "title": cls.type_key(),
            "x-event-type": cls.event_type,
            "x-event-version": cls.event_version,
            "x-producer": cls.producer,
            "x-topic": topic.name,
            "x-stream-field": cls.stream_field,
            "x-domain-date": cls.domain_date_field,
            "x-superseded": superseded,
        }
    )
    return schema


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of the CloudEvents 1.0 structured-mode message (any event type)."""
    schema = CloudEvent.model_json_schema(mode="serialization")
    schema.update(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": ENVELOPE_SCHEMA_ID,
            "title": "CloudEvent",
            "x-content-type": CONTENT_TYPE,
        }
    )
    return schema


def _summary(cls: type[Any]) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def _channel_id(topic: TopicSpec) -> str:
    return topic.name


def _kafka_channel_binding(partitions: int | None) -> dict[str, Any]:
    binding: dict[str, Any] = {} if partitions is None else {"partitions": partitions}
    # retention.ms -1: kept for ever, so any consumer can rebuild its views from offset 0.
    binding["topicConfiguration"] = {"cleanup.policy": ["delete"], "retention.ms": -1}
    binding["bindingVersion"] = KAFKA_BINDING_VERSION
    return {"kafka": binding}


def _message(cls: type[DomainEvent]) -> dict[str, Any]:
    key = cls.type_key()
    description = (
        f"{_summary(cls)}\n\nStructured-mode CloudEvent with `type` `{key}`; `data` is valid "
        f"against `{event_schema_file(cls)}`. Kafka key and `subject` = `data.{cls.stream_field}`. "
        f"Example: `{example_file(cls)}`."
    )
    if cls.event_version < CURRENT_VERSION[cls.event_type]:
        description += (
            f"\n\nSuperseded: no longer published, but still on the topic in old records; "
            f"read it as `{cls.event_type}.v{CURRENT_VERSION[cls.event_type]}` through the "
            f"upcaster (socialwork_contracts.catalog.load)."
        )
    return {
        "name": key,
        "title": f"{cls.event_type} v{cls.event_version}",
        "summary": _summary(cls),
        "description": description,
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/CloudEventKafkaHeaders"},
        "payload": {
            "allOf": [
                {"$ref": f"./{ENVELOPE_FILE}"},
                {
                    "type": "object",
                    "required": ["type", "dataschema", "data"],
                    "properties": {
                        "type": {"const": key},
                        "dataschema": {"const": schema_urn(key)},
                        "data": {"$ref": f"./{event_schema_file(cls)}"},
                    },
                },
            ]
        },
        "correlationId": {"$ref": "#/components/correlationIds/correlationid"},
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": f"Stream (aggregate) id: `data.{cls.stream_field}`",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-example": example_file(cls),
    }


def _headers_schema() -> dict[str, Any]:
    names = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time")
    properties: dict[str, Any] = {
        "content-type": {"const": CONTENT_TYPE, "description": "Structured-mode CloudEvent"},
    }
    for name in names:
        attribute = name.removeprefix("ce_")
        properties[name] = {
            "type": "string",
            "description": f"Copy of the CloudEvent attribute `{attribute}` (UTF-8)",
        }
    return {
        "type": "object",
        "description": "Kafka record headers: copies of body attributes, for cheap filtering. "
        "The body is authoritative.",
        "required": ["content-type", *names],
        "properties": properties,
    }


def _dead_letter_headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "The failed record's own headers, unchanged, plus these.",
        "required": sorted(DEAD_LETTER_HEADERS),
        "properties": {
            name: {"type": "string", "description": text}
            for name, text in DEAD_LETTER_HEADERS.items()
        },
    }


def _event_channel(topic: TopicSpec, published: list[type[DomainEvent]]) -> dict[str, Any]:
    return {
        "address": topic.name,
        "title": topic.name,
        "description": (
            f"{topic.description}. Producer: the {topic.producer} service. "
            f"{topic.partitions} partitions; key = stream (aggregate) id, so order holds per "
            "aggregate only. Retention unlimited: a new consumer replays from offset 0."
        ),
        "messages": {
            c.type_key(): {"$ref": f"#/components/messages/{c.type_key()}"} for c in published
        },
        "bindings": _kafka_channel_binding(topic.partitions),
    }


def _publish_operation(topic: TopicSpec, published: list[type[DomainEvent]]) -> dict[str, Any]:
    channel = _channel_id(topic)
    return {
        "action": "send",
        "title": f"The {topic.producer} service publishes its events",
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{c.type_key()}"} for c in published],
    }


def _dead_letter_channel() -> dict[str, Any]:
    return {
        "address": dead_letter_topic("{consumer}"),
        "title": "Dead-letter topics, one per consuming service",
        "description": (
            "A consumer that cannot process a record (unparseable, or failing after its retries) "
            "copies it here with the same key, value and headers plus `dlq_*` headers, commits "
            "its offset and goes on. Records of an unknown type or version are not dead-lettered: "
            "they are skipped and recorded."
        ),
        "parameters": {
            "consumer": {
                "description": "Name of the consuming service",
                "examples": [t.producer for t in EVENT_TOPICS] + ["reporting"],
            }
        },
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        "bindings": _kafka_channel_binding(None),
    }


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "Dead-lettered record",
        "summary": "The failed record, byte for byte, with where it came from and why it failed.",
        "headers": {"$ref": "#/components/schemas/DeadLetterHeaders"},
        "payload": {"description": "The original record value, unchanged (may be unparseable)"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _info() -> dict[str, Any]:
    return {
        "title": "Social-work incubation platform events (社会工作服务机构孵化基地平台事件)",
        "version": __version__,
        "description": (
            "Public events of the Zhengzhou civil-affairs platform for incubation bases of "
            "social-work agencies. Every message is a CloudEvents 1.0 structured-mode JSON "
            "record. See README.md for delivery, deduplication and the evolution rule."
        ),
    }


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: one channel per topic, one message per event type and version."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in EVENT_TOPICS:
        published = [c for c in EVENT_CLASSES if c.producer == topic.producer]
        channels[_channel_id(topic)] = _event_channel(topic, published)
        operations[f"publish-{topic.producer}-events"] = _publish_operation(topic, published)
        messages.update({c.type_key(): _message(c) for c in published})
    channels["dead-letter"] = _dead_letter_channel()
    operations["dead-letter"] = {
        "action": "send",
        "title": "A consumer dead-letters a record it cannot process",
        "channel": {"$ref": "#/channels/dead-letter"},
        "messages": [{"$ref": "#/channels/dead-letter/messages/DeadLetter"}],
    }
    messages["DeadLetter"] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": _info(),
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {
                "CloudEventKafkaHeaders": _headers_schema(),
                "DeadLetterHeaders": _dead_letter_headers_schema(),
            },
            "correlationIds": {
                "correlationid": {
                    "description": "Shared by every event one request caused",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
    }


# A plain (unquoted) scalar: starts with a letter or `$` (so never a number, date or indicator),
# no control characters, and none of the sequences that end or comment a plain scalar.
_PLAIN = re.compile(r"(?:[^\W\d]|\$)[^\x00-\x1f\x7f]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value == {}:
        return "{}"
    if value == []:
        return "[]"
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} as YAML")
    plain = (
        _PLAIN.fullmatch(value)
        and ": " not in value
        and " #" not in value
        and not value.endswith((" ", ":"))
    )
    if plain and value.lower() not in _YAML_WORDS:
        return value
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{pad}{_yaml_scalar(str(key))}:")
                lines.extend(_yaml_lines(item, indent + 1))
            else:
                lines.append(f"{pad}{_yaml_scalar(str(key))}: {_yaml_scalar(item)}")
        return lines
    for item in value:
        if _is_block(item):
            nested = _yaml_lines(item, indent + 1)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}- {_yaml_scalar(item)}")
    return lines


def to_yaml(document: dict[str, Any]) -> str:
    """Block-style YAML of JSON-like data (dicts, lists, str, int, bool, None); keeps key order."""
    return "\n".join(_yaml_lines(document, 0)) + "\n"


def render() -> dict[str, str]:
    """Every generated file: path relative to the contracts folder -> exact text."""
    files: dict[str, str] = {ENVELOPE_FILE: to_json(envelope_schema())}
    for position, cls in enumerate(EVENT_CLASSES, start=1):
        files[event_schema_file(cls)] = to_json(event_schema(cls))
        message = example_message(cls, position=1000 + 17 * position)
        files[example_file(cls)] = to_json(message.model_dump(mode="json"))
    files[ASYNCAPI_FILE] = (
        "# Generated by `python -m socialwork_contracts.export`; do not edit by hand.\n"
        + to_yaml(asyncapi())
    )
    return files


def _stale(out: Path, expected: dict[str, str]) -> list[str]:
    found = {
        path.relative_to(out).as_posix()
        for folder in GENERATED_DIRS
        if (out / folder).is_dir()
        for path in (out / folder).glob("*.json")
    }
    return sorted(found - expected.keys())


def drifted(out: Path) -> list[str]:
    """Generated files under `out` that are missing, differ, or are no longer generated."""
    expected = render()
    changed = [
        name
        for name, text in expected.items()
        if not (out / name).is_file() or (out / name).read_text("utf-8") != text
    ]
    return sorted(changed + _stale(out, expected))


def write(out: Path) -> list[str]:
    """Write every generated file under `out`, delete stale ones; return the paths changed."""
    expected = render()
    changed = drifted(out)
    for name in changed:
        path = out / name
        if name in expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[name], "utf-8")
        else:
            path.unlink()
    return changed


def default_out() -> Path:
    """The `contracts/` folder of a source checkout (src/socialwork_contracts/../../)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "src").is_dir():
        raise SystemExit(
            f"{root} is not the contracts source folder (installed copy?); pass --out DIR"
        )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socialwork_contracts.export",
        description="Write (or check) the generated contract files.",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if any file has drifted"
    )
    parser.add_argument("--out", type=Path, help="contracts folder (default: this checkout's)")
    args = parser.parse_args(argv)
    out: Path = args.out if args.out is not None else default_out()
    if args.check:
        stale = drifted(out)
        for name in stale:
            sys.stderr.write(f"drifted: {name}\n")
        if stale:
            sys.stderr.write("regenerate with: python -m socialwork_contracts.export\n")
            return 1
        sys.stdout.write(f"{len(render())} generated files up to date in {out}\n")
        return 0
    for name in write(out):
        sys.stdout.write(f"wrote {name}\n" if (out / name).exists() else f"removed {name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
