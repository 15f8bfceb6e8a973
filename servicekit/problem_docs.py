"""The problems every operation can answer, written into each service's OpenAPI document.

Handlers raise problems from many places (auth, validation, the body limit, the database
outage, domain refusals), so each route cannot be relied on to list them. They follow from
what an operation is: authenticated (it has `security`), takes a body or parameters, names a
resource in its path, or writes. Clients and schemathesis read the document; every such answer
is `application/problem+json` with the Problem schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from servicekit.http import PROBLEM_JSON

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class Problem(BaseModel):
    """RFC 9457 problem details, as servicekit.http renders them (extra members allowed)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="`urn:socialwork:problem:<code>`")
    title: str = Field(description="Short summary, simplified Chinese with English")
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable reason")
    instance: str = Field(description="The request path")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Field-level reasons, when there are any"
    )


_WHY = {
    400: "Malformed JSON body",
    401: "No valid bearer token",
    403: "Outside the caller's role or scope",
    404: "Not found",
    409: "Conflict with the current state or version; nothing was stored",
    413: "Request body over HTTP_MAX_BODY_BYTES; not read, nothing stored",
    422: "Invalid request or rules violated; nothing stored",
    429: "Too many failed authentications from this address",
    503: "Database unavailable; the outcome is unknown, retry with the same Idempotency-Key",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


def problem_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The problem statuses an operation can answer, from what it is."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses: set[int] = set()
    if operation.get("security"):
        statuses |= {401, 403, 429, 503}  # 503: every authenticated operation reads the database
    if has_body:
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if method in WRITE_METHODS and operation.get("security"):
        statuses |= {404, 409}  # commands answer `*_not_found` and version conflicts
    return statuses


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema and each operation's problem responses to an OpenAPI document."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "head", *WRITE_METHODS}:
                continue
            responses = operation.setdefault("responses", {})
            # Plus a problem status a route declares itself (e.g. 404 for an unknown query value).
            declared = {int(code) for code in responses if code.isdigit() and int(code) in _WHY}
            for status in sorted(problem_statuses(method, operation) | declared):
                answer = responses.setdefault(str(status), {"description": _WHY[status]})
                if answer.get("description") in (None, "", "Validation Error"):
                    answer["description"] = _WHY[status]
                content = answer.setdefault("content", {})
                content.pop("application/json", None)  # FastAPI's HTTPValidationError: not sent
                content[PROBLEM_JSON] = {"schema": PROBLEM_REF}
                if status in _HEADERS:
                    answer.setdefault("headers", {}).update(_HEADERS[status])
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    return schema


def install_problem_docs(app: FastAPI) -> None:
    """Make app.openapi() return the document with the problem responses (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                )
            )
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented override
