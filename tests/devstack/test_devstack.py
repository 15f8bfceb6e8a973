"""The devstack launchers against the real thing: a Kafka broker and a PostgreSQL server.

Each test starts its own servers in a temporary folder (independent of the session servers in
tests/conftest.py) and checks that they answer real clients and stop cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import devstack
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAuthorizationFailedError
from devstack.kafka import KafkaProcess, start_kafka
from devstack.ports import free_port, port_is_open, wait_port_closed
from devstack.postgres import PostgresProcess, start_postgres

from servicekit.kafka_security import KafkaSecurity
from servicekit.settings import KafkaSettings

pytestmark = pytest.mark.infra

TOOLS_DIR = Path(devstack.__file__).resolve().parent.parent


async def _kafka_metadata(bootstrap: str) -> tuple[dict[str, object], list[str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        cluster: dict[str, object] = await admin.describe_cluster()
        topics: list[str] = await admin.list_topics()
    finally:
        await admin.close()
    return cluster, topics


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _select_one(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url, timeout=15)
    try:
        one = await conn.fetchval("select 1")
        database = await conn.fetchval("select current_database()")
    finally:
        await conn.close()
    assert isinstance(one, int)
    assert isinstance(database, str)
    return one, database


async def test_kafka_and_postgres_start_answer_and_stop(tmp_path: Path) -> None:
    kafka: KafkaProcess = await asyncio.to_thread(start_kafka, tmp_path / "kafka")
    try:
        postgres: PostgresProcess = await asyncio.to_thread(start_postgres, tmp_path / "postgres")
        try:
            assert kafka.bootstrap == f"127.0.0.1:{kafka.port}"
            assert postgres.url == f"postgresql://postgres@127.0.0.1:{postgres.port}/socialwork"

            cluster, topics = await _kafka_metadata(kafka.bootstrap)
            brokers = cluster["brokers"]
            assert isinstance(brokers, list)
            assert [(b["node_id"], b["host"], b["port"]) for b in brokers] == [
                (1, "127.0.0.1", kafka.port)
            ]
            assert [t for t in topics if not t.startswith("__")] == []  # no auto-created topics

            assert await _select_one(postgres.url) == (1, "socialwork")
        finally:
            await asyncio.to_thread(postgres.stop)
    finally:
        exit_code = await asyncio.to_thread(kafka.stop)

    assert exit_code == 143  # SIGTERM: the JVM ran Kafka's shutdown hook, not SIGKILL
    assert not kafka.running()
    assert postgres.pid is None
    assert kafka.sasl_port is not None
    for port in (kafka.port, kafka.controller_port, kafka.sasl_port, postgres.port):
        assert not port_is_open(port), port
    log = kafka.log_path.read_text(encoding="utf-8")
    assert "Kafka Server started" in log
    assert "SLF4J: No SLF4J providers" not in log
    assert "SLF4J: Failed to load class" not in log


async def test_kafka_restarts_on_its_state_with_new_ports(tmp_path: Path) -> None:
    first = await asyncio.to_thread(start_kafka, tmp_path)
    try:
        await _create_topic(first.bootstrap, "devstack.kept")
    finally:
        await asyncio.to_thread(first.stop)
    port = free_port()
    second = await asyncio.to_thread(start_kafka, tmp_path, port=port)
    try:
        assert second.port == port
        _, topics = await _kafka_metadata(second.bootstrap)
        assert "devstack.kept" in topics
    finally:
        await asyncio.to_thread(second.stop)
    assert wait_port_closed(port)


async def test_postgres_crash_recovery_and_reused_state(tmp_path: Path) -> None:
    postgres = await asyncio.to_thread(start_postgres, tmp_path)
    try:
        conn = await asyncpg.connect(postgres.url)
        try:
            await conn.execute("create table kept (n int primary key)")
            await conn.execute("insert into kept values (1)")
        finally:
            await conn.close()

        await asyncio.to_thread(postgres.crash)
        assert postgres.pid is None
        assert not port_is_open(postgres.port)
        await asyncio.to_thread(postgres.start_again)
        conn = await asyncpg.connect(postgres.url)
        try:
            assert await conn.fetchval("select count(*) from kept") == 1
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(postgres.stop)
    assert "database system was not properly shut down" in postgres.log_tail(200)

    again = await asyncio.to_thread(start_postgres, tmp_path)  # no second initdb
    try:
        conn = await asyncpg.connect(again.url)
        try:
            assert await conn.fetchval("select n from kept") == 1
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(again.stop)
    initdb_runs = (tmp_path / "initdb.log").read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("$ ") for line in initdb_runs) == 1
    assert not port_is_open(again.port)


def _cli_env(**overrides: str) -> dict[str, str]:
    given = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")
    env = {key: value for key, value in os.environ.items() if key not in given}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS_DIR), env.get("PYTHONPATH")]))
    env.update(overrides)
    return env


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


async def _wait_for_file(path: Path, proc: asyncio.subprocess.Process, seconds: float) -> str:
    async with asyncio.timeout(seconds):
        while (text := _read_or_none(path)) is None:
            assert proc.returncode is None, "devstack up exited early"
            await asyncio.sleep(0.2)
    return text


def _parse_env(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = value.strip("'")
    return values


async def test_cli_up_writes_env_and_down_stops_everything(tmp_path: Path) -> None:
    state = tmp_path / "state"
    up = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devstack", "up", "--state", str(state),
        env=_cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        env = _parse_env(await _wait_for_file(state / "env", up, seconds=120))
        assert (state / "devstack.json").exists()
        bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        _, topics = await _kafka_metadata(bootstrap)
        assert isinstance(topics, list)
        assert (await _select_one(env["DATABASE_URL"]))[0] == 1
        # Each service's own variables: its Kafka principal on the SASL listener, its own role.
        registry = _parse_env((state / "env.registry").read_text(encoding="utf-8"))
        assert (state / "env.registry").stat().st_mode & 0o777 == 0o600
        assert registry["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert registry["KAFKA_SASL_USERNAME"] == "registry"
        assert registry["KAFKA_BOOTSTRAP_SERVERS"] != bootstrap
        assert registry["DATABASE_URL"].startswith("postgresql://registry@127.0.0.1:")
        assert (await _select_one(registry["DATABASE_URL"]))[0] == 1
        security = KafkaSecurity.from_settings(KafkaSettings.model_validate(registry))
        producer = AIOKafkaProducer(
            bootstrap_servers=registry["KAFKA_BOOTSTRAP_SERVERS"], **security.client_options()
        )
        await producer.start()
        try:
            await producer.send_and_wait("socialwork.registry.events", b"probe", key=b"k")
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait("socialwork.incubation.events", b"forged", key=b"k")
        finally:
            await producer.stop()

        down = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devstack", "down", "--state", str(state), env=_cli_env(),
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await asyncio.wait_for(down.wait(), 150) == 0
        assert await asyncio.wait_for(up.wait(), 30) == 0
    finally:
        if up.returncode is None:
            up.send_signal(signal.SIGTERM)
            await up.wait()
    assert up.stdout is not None
    output = (await up.stdout.read()).decode()
    assert f"kafka     {bootstrap}" in output
    assert "postgres  postgresql://postgres@127.0.0.1:" in output
    assert not (state / "devstack.json").exists()
    assert not list(state.glob("env*"))
    assert not port_is_open(int(bootstrap.rpartition(":")[2]))
    pg_port = int(env["DATABASE_URL"].rpartition(":")[2].partition("/")[0])
    assert not port_is_open(pg_port)


async def test_cli_up_starts_nothing_when_servers_are_given(tmp_path: Path) -> None:
    given = {"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092", "DATABASE_URL": "postgresql://x/y"}
    up = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devstack", "up", "--state", str(tmp_path),
        env=_cli_env(**given), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        env = _parse_env(await _wait_for_file(tmp_path / "env", up, seconds=30))
        assert env == given
        assert not (tmp_path / "kafka").exists()
        assert not (tmp_path / "postgres").exists()
    finally:
        up.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(up.wait(), 30) == 0
