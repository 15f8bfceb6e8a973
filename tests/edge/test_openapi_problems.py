"""Every operation documents the problems it can answer, as application/problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from servicekit.problem_docs import WRITE_METHODS
from tests.edge.apps import FACTORIES, built

PROBLEM_REF = "#/components/schemas/Problem"
WRITE_PROBLEMS = {401, 403, 404, 409, 413, 422, 503}
AUTHENTICATED_PROBLEMS = {401, 403, 503}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", *WRITE_METHODS}
    ]


def undocumented(operation: dict[str, Any], statuses: set[int]) -> list[str]:
    missing = []
    for status in sorted(statuses):
        answer = operation["responses"].get(str(status), {})
        schema = answer.get("content", {}).get("application/problem+json", {}).get("schema")
        if schema != {"$ref": PROBLEM_REF}:
            missing.append(f"{status}: {answer}")
    return missing


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_every_write_documents_its_problems(service: str) -> None:
    spec = built(service).openapi()
    assert spec["components"]["schemas"]["Problem"]["properties"]["code"]
    writes = [(m, p, op) for m, p, op in operations(spec) if m in WRITE_METHODS]
    assert writes, "no write operation found"
    for method, path, operation in writes:
        expected = WRITE_PROBLEMS if "requestBody" in operation else WRITE_PROBLEMS - {413}
        assert undocumented(operation, expected) == [], (method, path)


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_every_authenticated_read_documents_its_problems(service: str) -> None:
    spec = built(service).openapi()
    for method, path, operation in operations(spec):
        if operation.get("security"):
            expected = AUTHENTICATED_PROBLEMS | ({422} if operation.get("parameters") else set())
            if any(p["in"] == "path" for p in operation.get("parameters", [])):
                expected.add(404)
            assert undocumented(operation, expected) == [], (method, path)
        # FastAPI's own validation body is never sent: its schema must not be promised.
        assert "application/json" not in operation["responses"].get("422", {}).get("content", {})


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_401_and_503_document_their_headers(service: str) -> None:
    spec = built(service).openapi()
    for _, _, operation in operations(spec):
        responses = operation["responses"]
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"]
        if "503" in responses:
            assert "Retry-After" in responses["503"]["headers"]


def test_reporting_documents_its_exports_the_dashboard_and_unknown_units() -> None:
    # schemathesis found these answers undocumented: CSV and Excel exports, the HTML page, 404.
    paths = built("reporting").openapi()["paths"]
    for path, item in paths.items():
        operation = item.get("get", {})
        if any(p["name"] == "format" for p in operation.get("parameters", [])):
            content = operation["responses"]["200"]["content"]
            assert {"application/json", "text/csv"} <= set(content), path
            assert any("spreadsheetml" in media for media in content), path
    assert "text/html" in paths["/dashboard"]["get"]["responses"]["200"]["content"]
    for path in ("/reports/coverage", "/reports/half-year"):
        answer = paths[path]["get"]["responses"]["404"]
        assert answer["content"]["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}
