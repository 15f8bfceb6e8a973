"""Requests built from a service's OpenAPI document: every required field filled with a valid
value, the scope's identifiers where a field names one (the role matrix sends them)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scope:
    """The entities a request names: one agency at one base in one reporting unit."""

    unit: str
    uscc: str
    base_id: str
    incubation_id: str
    call_id: str


# Fields (path, query or body) that name something in the scope, by name.
def _named(scope: Scope, name: str) -> Any:
    return {
        "uscc": scope.uscc,
        "stream_id": scope.uscc,
        "base_id": scope.base_id,
        "incubation_id": scope.incubation_id,
        "call_id": scope.call_id,
        "reporting_unit": scope.unit,
        "unit": scope.unit,
    }.get(name)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def value_for(spec: dict[str, Any], schema: dict[str, Any], name: str, scope: Scope) -> Any:
    """A value the schema accepts; a scope identifier for a field that names one."""
    named = _named(scope, name)
    if named is not None:
        return named
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return value_for(spec, options[0], name, scope)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        properties = schema.get("properties", {})
        return {k: value_for(spec, properties[k], k, scope) for k in required if k in properties}
    if kind == "array":
        size = max(schema.get("minItems", 1), 1)
        return [value_for(spec, schema.get("items", {}), name, scope) for _ in range(size)]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        if name == "year":
            low = max(low, 2023)
        return low
    return _string(schema, name)


def _string(schema: dict[str, Any], name: str) -> str:
    fmt, pattern = schema.get("format"), schema.get("pattern")
    if fmt == "date" or name.endswith("_on") or name.endswith("_from"):
        return "2024-01-15"
    if fmt == "date-time":
        return dt.datetime(2024, 1, 15, 9, tzinfo=dt.UTC).isoformat()
    if fmt == "uuid" or name.endswith("_id"):
        return str(uuid.uuid4())
    if pattern is not None and re.fullmatch(pattern, "1.00"):
        return "1.00"  # a decimal amount
    return "x" * max(int(schema.get("minLength", 1)), 4)


def request_for(
    spec: dict[str, Any], method: str, path: str, scope: Scope
) -> tuple[str, dict[str, Any], Any]:
    """(path with its parameters filled, query parameters, JSON body or None)."""
    operation = spec["paths"][path][method.lower()]
    filled, query = path, {}
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            value = value_for(spec, parameter["schema"], name, scope)
            filled = filled.replace("{" + name + "}", str(value))
        elif where == "query" and (parameter.get("required") or _named(scope, name)):
            query[name] = value_for(spec, parameter["schema"], name, scope)
    body = None
    if "requestBody" in operation:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        body = value_for(spec, schema, "body", scope)
    return filled, query, body
