"""Local development infrastructure: a real Kafka broker and a real PostgreSQL server.

Both run as ordinary processes started by this package (no Docker), on free ports, with their
state in a folder of the caller's choosing. See ``python -m devstack --help``.
"""

from devstack.kafka import (
    KAFKA_VERSION,
    KafkaError,
    KafkaProcess,
    ensure_kafka_classpath,
    start_kafka,
)
from devstack.ports import free_port, port_is_open
from devstack.postgres import PostgresError, PostgresProcess, start_postgres

__all__ = [
    "KAFKA_VERSION",
    "KafkaError",
    "KafkaProcess",
    "PostgresError",
    "PostgresProcess",
    "ensure_kafka_classpath",
    "free_port",
    "port_is_open",
    "start_kafka",
    "start_postgres",
]
