"""docs/service-skeleton.md is what adding a service takes: its code blocks, written into a
temporary folder, make a fifth service (notices) that builds on the shared frame and that the
manifest, the access plan, the compose file's checks and the role matrix accept."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from socialwork_contracts import topics
from socialwork_contracts.topics import ServiceSpec

import services
from servicekit import db_access, kafka_access
from servicekit.kafka_acls import Operation
from tests.edge import policy
from tests.edge.apps import offline_settings
from tests.edge.test_route_auth import PUBLIC
from tests.static import test_compose
from tests.support import app_factory
from tests.test_least_privilege_plan import projections_of
from tests.test_service_manifest import contract_classes_named_in

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "service-skeleton.md"
BLOCK = re.compile(
    r"```(?:python|yaml)\n# (file|manifest|compose|policy): ([^\n]+)\n(.*?)```", re.S
)


def blocks(kind: str) -> dict[str, str]:
    """The page's code blocks of one kind, by what they name (a path, a place)."""
    text = DOC.read_text(encoding="utf-8")
    return {m[2]: m[3] for m in BLOCK.finditer(text) if m[1] == kind}


def test_the_title_counts_the_steps() -> None:
    text = DOC.read_text(encoding="utf-8")
    title = re.match(r"# Add a service in (\d+) steps\n", text)
    assert title is not None
    steps = [int(n) for n in re.findall(r"^## (\d+)\. ", text, re.M)]
    assert steps == list(range(1, int(title[1]) + 1))


@pytest.fixture
def notices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceSpec]:
    """Steps 2 and 3 done in a temporary folder: the manifest line and the package."""
    for path, code in blocks("file").items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code, encoding="utf-8")
    monkeypatch.setattr(services, "__path__", [*services.__path__, str(tmp_path / "services")])
    (manifest_line,) = blocks("manifest").values()
    spec = eval(manifest_line, vars(topics))  # noqa: S307 - our own documentation's code
    assert isinstance(spec, ServiceSpec)
    monkeypatch.setattr(topics, "MANIFEST", (*topics.MANIFEST, spec))
    for module in (topics, kafka_access, db_access, test_compose):
        monkeypatch.setattr(module, "SERVICES", (*topics.SERVICES, spec.name))
    yield spec
    for name in [m for m in sys.modules if m.startswith(f"services.{spec.name}")]:
        del sys.modules[name]


def routes(spec: ServiceSpec) -> dict[tuple[str, str], APIRoute]:
    app = app_factory(spec.name)(offline_settings())
    found = (context.original_route for context in iter_route_contexts(app.routes))
    return {
        (method, route.path): route
        for route in found
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


def test_it_builds_on_the_shared_frame(notices: ServiceSpec) -> None:
    paths = {path for _, path in routes(notices)}
    assert {"/notices", "/health/ready", "/metrics", "/streams/{stream_id}/events"} <= paths
    assert "/admin/dead-letters" in paths


def test_it_folds_and_may_read_what_the_manifest_declares(
    notices: ServiceSpec, tmp_path: Path
) -> None:
    consumed = {t.name for t in notices.consumes}
    projections = projections_of(notices.name)
    assert {t for _, folded in projections for t in folded} == consumed
    assert all((name or "").startswith(f"{notices.name}.") for name, _ in projections)
    consumers = tmp_path / "services" / notices.name / "consumers.py"
    assert contract_classes_named_in(consumers) == set(notices.event_types or ())
    grants = kafka_access.service_grants(notices.name)
    assert {g.name for g in grants if g.operation is Operation.READ} >= consumed
    assert {g.name for g in grants if g.operation is Operation.WRITE} == {
        topics.dead_letter_topic(notices.name)  # it publishes no topic of its own
    }


def test_the_compose_file_takes_it(notices: ServiceSpec, tmp_path: Path) -> None:
    """Step 4: the blocks inserted where the page says; every check of the file holds."""
    text = test_compose.COMPOSE.read_text(encoding="utf-8")
    snippets = blocks("compose")
    text = text.replace(
        "\n\n  # --- Optional: Kafka web UI",
        f"\n{snippets['services']}\n  # --- Optional: Kafka web UI",
    )
    for job, variable in (
        ("kafka-init", "REPORTING_KAFKA_PASSWORD"),
        ("db-init", "REPORTING_DB_PASSWORD"),
    ):
        line = re.search(rf"^      {variable}: .*\n", text, re.M)
        assert line is not None
        text = text[: line.end()] + snippets[f"{job} environment"] + text[line.end() :]
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(text, encoding="utf-8")
    doc = test_compose.load_compose(compose)
    assert notices.name in test_compose.platform_services(doc)
    assert test_compose.environment_problems(doc) == []
    assert test_compose.port_problems(doc) == []
    assert test_compose.job_problems(doc) == []
    assert test_compose.command_problems(doc, tmp_path) == [
        f"{s}: services/{s}/__main__.py does not exist" for s in topics.SERVICES[:-1]
    ]  # this folder holds only the new service


def test_the_role_matrix_covers_its_routes(notices: ServiceSpec) -> None:
    """Step 5: who may call each route, and the roles the manifest says its routes admit."""
    (entry,) = blocks("policy").values()
    declared: dict[tuple[str, str], Any] = eval(entry, vars(policy))  # noqa: S307 - our docs
    served = {key for key in routes(notices) if key[1] not in PUBLIC and key[0] != "HEAD"}
    assert served == set(declared)
    admitted = {role.value for rule in declared.values() for role in rule.roles}
    assert admitted == set(notices.roles)
