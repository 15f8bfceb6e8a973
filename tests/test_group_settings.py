"""Group commit's size and lanes come from the settings (issue 12), within what the pool allows."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydantic import ValidationError

from servicekit.runtime import Runtime
from servicekit.settings import ServiceSettings

BASE = {
    "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
    "DATABASE_URL": "postgresql://x@localhost/x",
    "AUTH_JWT_SECRET": "s" * 32,
}


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ServiceSettings:
    for name, value in {**BASE, **env}.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings()


def test_the_group_commit_takes_its_lanes_and_size_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured = settings(monkeypatch, COMMAND_GROUP_LANES="6", COMMAND_GROUP_MAX="16")
    none = cast(Any, None)
    runtime = Runtime(configured, "registry", none, none, none, None, none, "id")
    assert (runtime.commits.lanes, runtime.commits.max_group) == (6, 16)


def test_the_defaults_are_four_lanes_of_up_to_64(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = settings(monkeypatch)
    assert (defaults.command_group_lanes, defaults.command_group_max) == (4, 64)


def test_lanes_must_leave_connections_for_the_relay_and_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="below DB_POOL_MAX"):
        settings(monkeypatch, COMMAND_GROUP_LANES="10", DB_POOL_MAX="10")
