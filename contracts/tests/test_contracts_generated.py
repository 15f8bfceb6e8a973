"""The generated files: up to date, self-consistent, and valid against their own schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from socialwork_contracts import export
from socialwork_contracts.catalog import BY_TYPE_KEY, EVENT_CLASSES, load
from socialwork_contracts.envelope import CloudEvent, schema_urn
from socialwork_contracts.incubation import AgencyGraduated, IncubationStarted
from socialwork_contracts.supervision import VIOLATION_CATEGORIES, ViolationRecorded
from socialwork_contracts.topics import EVENT_TOPICS, topic_of
from socialwork_contracts.uscc import check_character as uscc_check_character

CONTRACTS = Path(__file__).resolve().parents[1]
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
USCC = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")
TYPE_KEYS = sorted(BY_TYPE_KEY)


def _read_json(relative: str) -> Any:
    return json.loads((CONTRACTS / relative).read_text("utf-8"))


def _registry() -> Registry[Any]:
    files = [export.ENVELOPE_FILE, *(export.event_schema_file(c) for c in EVENT_CLASSES)]
    resources = []
    for name in files:
        schema = _read_json(name)
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT202012)))
    return Registry().with_resources(resources)


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema,
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


# (a) drift ---------------------------------------------------------------------------------


def test_committed_files_equal_freshly_generated_ones() -> None:
    assert export.drifted(CONTRACTS) == [], (
        "generated contract files are out of date: run `python -m socialwork_contracts.export`"
    )


def test_check_names_changed_and_stale_files(tmp_path: Path) -> None:
    assert export.main(["--out", str(tmp_path)]) == 0
    assert export.main(["--check", "--out", str(tmp_path)]) == 0

    changed = tmp_path / "schemas/events/IncubationStarted.v1.json"
    changed.write_text(changed.read_text("utf-8").replace("入驻日期", "入孵日期"), "utf-8")
    (tmp_path / "examples/Gone.v1.json").write_text("{}\n", "utf-8")
    assert export.drifted(tmp_path) == [
        "examples/Gone.v1.json",
        "schemas/events/IncubationStarted.v1.json",
    ]
    assert export.main(["--check", "--out", str(tmp_path)]) == 1

    export.main(["--out", str(tmp_path)])
    assert export.drifted(tmp_path) == []
    assert not (tmp_path / "examples/Gone.v1.json").exists()


def test_generation_is_deterministic() -> None:
    assert export.render() == export.render()


def test_every_generated_file_ends_with_one_newline() -> None:
    for name, text in export.render().items():
        assert text.endswith("\n"), name
        assert not text.endswith("\n\n"), name


# (b) examples valid against the committed schemas ------------------------------------------


@pytest.mark.parametrize("type_key", TYPE_KEYS)
def test_example_validates_against_envelope_and_event_schema(type_key: str) -> None:
    message = _read_json(f"examples/{type_key}.json")
    _validator(_read_json(export.ENVELOPE_FILE)).validate(message)
    assert message["type"] == type_key
    assert message["dataschema"] == schema_urn(type_key)
    event_schema = _read_json(f"schemas/events/{type_key}.json")
    assert event_schema["$id"] == message["dataschema"]
    _validator(event_schema).validate(message["data"])


@pytest.mark.parametrize("type_key", TYPE_KEYS)
def test_example_parses_into_its_model(type_key: str) -> None:
    message = _read_json(f"examples/{type_key}.json")
    envelope = CloudEvent.model_validate(message)
    cls = BY_TYPE_KEY[type_key]
    event = cls.model_validate(envelope.data)
    assert event.model_dump(mode="json") == message["data"]
    stream_id = message["data"][cls.stream_field]
    assert message["subject"] == message["streamid"] == stream_id
    assert message["source"] == f"/socialwork/{cls.producer}"
    assert RFC3339.fullmatch(message["time"])
    assert RFC3339.fullmatch(message["recordedtime"])
    # Any version on the wire loads as the current one.
    assert load(cls.event_type, cls.event_version, message["data"]).event_type == cls.event_type


def test_example_usccs_are_well_formed() -> None:
    texts = [(CONTRACTS / f"examples/{k}.json").read_text("utf-8") for k in TYPE_KEYS]
    codes = {m for text in texts for m in re.findall(r'"(5[0-9A-Z]{17})"', text)}
    assert len(codes) >= 4
    for code in codes:
        assert USCC.fullmatch(code), code
        assert code[17] == uscc_check_character(code[:17]), code
        assert code.startswith("5241") or code.startswith("5141"), code


def test_a_known_good_uscc_check_character() -> None:
    # Published example from GB 32100-2015 materials: 91350100M000100Y43.
    assert uscc_check_character("91350100M000100Y4") == "3"


def test_schema_rejects_a_float_amount() -> None:
    message = _read_json("examples/SupportRecorded.v1.json")
    data = {**message["data"], "amount_yuan": 50000.5}
    with pytest.raises(jsonschema.ValidationError):
        _validator(_read_json("schemas/events/SupportRecorded.v1.json")).validate(data)
    data["amount_yuan"] = "50000.555"
    with pytest.raises(jsonschema.ValidationError):
        _validator(_read_json("schemas/events/SupportRecorded.v1.json")).validate(data)


def test_event_schemas_name_producer_and_topic() -> None:
    for cls in EVENT_CLASSES:
        schema = _read_json(export.event_schema_file(cls))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["title"] == cls.type_key()
        assert schema["x-producer"] == cls.producer
        assert schema["x-topic"] == topic_of(cls.producer).name
        assert schema["x-stream-field"] in schema["properties"]


# AsyncAPI -----------------------------------------------------------------------------------


def test_asyncapi_yaml_reads_back_as_the_generated_document() -> None:
    document = yaml.safe_load((CONTRACTS / export.ASYNCAPI_FILE).read_text("utf-8"))
    assert document == export.asyncapi()


def test_asyncapi_has_a_channel_per_topic_and_a_message_per_event() -> None:
    document = export.asyncapi()
    assert document["asyncapi"] == "3.0.0"
    for topic in EVENT_TOPICS:
        channel = document["channels"][topic.name]
        assert channel["address"] == topic.name
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        assert channel["bindings"]["kafka"]["topicConfiguration"]["retention.ms"] == -1
    assert document["channels"]["dead-letter"]["address"] == "socialwork.{consumer}.deadletter"
    messages = document["components"]["messages"]
    for cls in EVENT_CLASSES:
        payload = messages[cls.type_key()]["payload"]["allOf"]
        data_ref = payload[1]["properties"]["data"]["$ref"]
        assert (CONTRACTS / data_ref).resolve() == (CONTRACTS / export.event_schema_file(cls))


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "No",
        "null",
        "~",
        "3.0.0",
        "1.0",
        "-1",
        "2023-07-03",
        "",
        " lead",
        "trail ",
        "a: b",
        "x #y",
        "#x",
        "end:",
        "$ref",
        "*star",
        "- dash",
        "中文：说明",
        "line\nbreak",
        'quote"d',
        "@at",
    ],
)
def test_yaml_emitter_round_trips_awkward_strings(text: str) -> None:
    document = {
        "key": text,
        text or "empty": [text, {"nested": text}, [text]],
        "n": [1, True, None],
    }
    assert yaml.safe_load(export.to_yaml(document)) == document


# (d) every field described -------------------------------------------------------------------


def _undescribed(schema: dict[str, Any], where: str) -> list[str]:
    missing = []
    objects = [(where, schema)] + [
        (f"{where}#/$defs/{name}", sub) for name, sub in schema.get("$defs", {}).items()
    ]
    for place, obj in objects:
        if not str(obj.get("description", "")).strip():
            missing.append(place)
        for field, prop in obj.get("properties", {}).items():
            if not str(prop.get("description", "")).strip():
                missing.append(f"{place}.{field}")
    return missing


def test_every_field_of_every_event_has_a_description() -> None:
    missing = [
        gap
        for cls in EVENT_CLASSES
        for gap in _undescribed(_read_json(export.event_schema_file(cls)), cls.type_key())
    ]
    assert missing == []


def test_every_envelope_attribute_has_a_description() -> None:
    assert _undescribed(_read_json(export.ENVELOPE_FILE), "envelope") == []


# (e) the names other services code against --------------------------------------------------


def test_required_event_names_are_in_the_catalog() -> None:
    names = {c.event_type for c in EVENT_CLASSES}
    assert {
        "AgencyRegistered",
        "IncubationStarted",
        "AgencyGraduated",
        "ViolationRecorded",
    } <= names
    assert BY_TYPE_KEY["IncubationStarted.v1"] is IncubationStarted
    assert BY_TYPE_KEY["AgencyGraduated.v1"] is AgencyGraduated
    assert BY_TYPE_KEY["ViolationRecorded.v1"] is ViolationRecorded


def test_required_fields_are_present() -> None:
    assert set(IncubationStarted.model_fields) >= {
        "incubation_id", "base_id", "agreement_id", "uscc", "office_id", "term_start",
        "term_end", "started_on", "local", "non_local_reason",
    }  # fmt: skip
    assert set(AgencyGraduated.model_fields) >= {
        "incubation_id", "base_id", "uscc", "graduated_on", "assessment_summary", "office_id",
    }  # fmt: skip
    assert set(ViolationRecorded.model_fields) >= {
        "violation_id", "uscc", "category", "severity", "facts", "evidence_ref", "base_id",
        "found_on",
    }  # fmt: skip


def test_violation_categories_are_documented() -> None:
    description = ViolationRecorded.model_fields["category"].description or ""
    for category in VIOLATION_CATEGORIES:
        assert category in description


def test_type_keys_are_unique_and_producers_have_topics() -> None:
    assert len(BY_TYPE_KEY) == len(EVENT_CLASSES)
    for cls in EVENT_CLASSES:
        assert topic_of(cls.producer).producer == cls.producer
        assert cls.stream_field in cls.model_fields


def test_default_out_is_the_contracts_folder() -> None:
    assert export.default_out() == CONTRACTS


def test_out_folder_is_created_when_missing(tmp_path: Path) -> None:
    target = tmp_path / "fresh"
    export.write(target)
    assert (target / export.ASYNCAPI_FILE).is_file()


def test_readme_lists_every_event_type() -> None:
    readme = (CONTRACTS / "README.md").read_text("utf-8")
    assert [c.event_type for c in EVENT_CLASSES if c.event_type not in readme] == []
