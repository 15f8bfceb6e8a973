"""The service manifest (socialwork_contracts.topics.MANIFEST) agrees with the code it describes.

Devstack, the provisioning jobs, the every-service tests and the role matrix read the manifest;
these tests hold the rest to it: the event catalog, each service's package and consumers, and the
roles its routes admit. docker-compose.yml is checked by tests/static/test_compose.py.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from socialwork_contracts import catalog
from socialwork_contracts.topics import (
    EVENT_TOPICS,
    MANIFEST,
    SERVICES,
    ServiceSpec,
    service_spec,
)

from servicekit.auth import Role
from tests.edge.policy import POLICY

ROOT = Path(__file__).resolve().parents[1]
EVENT_NAMES = {c.event_type for c in catalog.EVENT_CLASSES}


def test_every_topic_is_produced_by_a_service_of_the_manifest() -> None:
    assert len(set(SERVICES)) == len(SERVICES)
    assert len({s.port for s in MANIFEST}) == len(MANIFEST)
    assert {t.producer for t in EVENT_TOPICS} <= set(SERVICES)
    with pytest.raises(KeyError):
        service_spec("nobody")


def test_the_catalog_holds_one_module_per_publishing_service() -> None:
    publishing = [s.name for s in MANIFEST if s.publishes is not None]
    assert [m.__name__.rsplit(".", 1)[-1] for m in catalog.PRODUCERS] == publishing
    for module in catalog.PRODUCERS:
        service = module.__name__.rsplit(".", 1)[-1]
        assert {c.producer for c in module.EVENTS} == {service}, module.__name__
        declared = {
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and hasattr(value, "event_type")
            and not value.__name__.startswith("_")
            and "event_type" in vars(value)
        }
        assert declared == set(module.EVENTS), f"{module.__name__}.EVENTS misses a class"


def contract_classes_named_in(path: Path) -> set[str]:
    """The event types a module imports from the contracts (what its consumers react to)."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("socialwork_"):
            named |= {alias.name for alias in node.names}
    return named & EVENT_NAMES


@pytest.mark.parametrize("spec", MANIFEST, ids=SERVICES)
def test_each_service_reacts_to_the_event_types_it_declares(spec: ServiceSpec) -> None:
    if spec.event_types is None:  # every type of its topics
        return
    consumed = {t.producer for t in spec.consumes}
    for name in spec.event_types:
        producers = {c.producer for c in catalog.EVENT_CLASSES if c.event_type == name}
        assert producers, f"{name} is not in the catalog"
        assert producers <= consumed, f"{name} is not on a topic {spec.name} consumes"
    consumers = ROOT / "services" / spec.name / "consumers.py"
    assert contract_classes_named_in(consumers) == set(spec.event_types)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_package_and_composition_root(service: str) -> None:
    assert (ROOT / "services" / service / "__main__.py").is_file()
    app = importlib.import_module(f"services.{service}.app")
    assert callable(app.create_app)
    assert service == app.SERVICE


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_admits_the_roles_it_declares(service: str) -> None:
    spec = service_spec(service)
    assert set(spec.roles) <= {r.value for r in Role if r is not Role.SYSTEM}
    admitted = {role.value for rule in POLICY[service].values() for role in rule.roles}
    assert admitted == set(spec.roles)
