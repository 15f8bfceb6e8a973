"""Topic creation takes replication and min.insync.replicas from configuration (issue 14)."""

from __future__ import annotations

import pytest

from servicekit.kafka_admin import UNLIMITED_RETENTION, topic_configs
from servicekit.settings import ServiceSettings


def test_min_insync_replicas_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "a:1,b:2,c:3")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@localhost/x")
    monkeypatch.setenv("AUTH_JWT_SECRET", "s" * 32)
    monkeypatch.setenv("KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("KAFKA_MIN_INSYNC_REPLICAS", "2")
    settings = ServiceSettings()  # read from the environment
    assert settings.kafka_replication_factor == 3
    assert settings.kafka_min_insync_replicas == 2


def test_created_topics_carry_min_insync_replicas_only_when_configured() -> None:
    assert topic_configs(None) == UNLIMITED_RETENTION  # the broker's default applies
    assert topic_configs(2) == {**UNLIMITED_RETENTION, "min.insync.replicas": "2"}
