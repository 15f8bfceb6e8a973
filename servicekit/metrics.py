"""Prometheus metrics every service exposes at /metrics: the instruments.

Counters and histograms are updated where the work happens (this module imports nothing of
servicekit, so the store, relay and consumers can use it); lags and positions are read at scrape
time from the store, the relay and the consumers (servicekit.metrics_endpoint).
"""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# One registry per process: metrics are process-wide like the logs.
REGISTRY = CollectorRegistry()

COMMANDS = Counter(
    "socialwork_commands_total",
    "Commands handled, by command type and outcome (accepted, duplicate, refused, conflict)",
    ["command", "outcome"],
    registry=REGISTRY,
)


@functools.cache  # a few command types times five outcomes
def commands_counted(command: str, outcome: str) -> Counter:
    """COMMANDS' child for a command type and outcome, looked up once: `labels` takes a lock
    and checks its arguments on every call (issue 12)."""
    return COMMANDS.labels(command, outcome)


REFUSED_REQUESTS = Counter(
    "socialwork_refused_requests_total",
    "Requests refused at the edge, by status (401 unauthenticated, 403 forbidden, 429 too many "
    "failed authentications) and route template; each is also logged as security.refused",
    ["status", "route"],
    registry=REGISTRY,
)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
APPEND_SECONDS = Histogram(
    "socialwork_event_append_seconds",
    "Time to append a command's events to the event store (one transaction)",
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
GROUP_WAIT_SECONDS = Histogram(
    "socialwork_group_commit_wait_seconds",
    "Time a command waited for the group commit transaction it ran in to begin",
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
GROUP_SECONDS = Histogram(
    "socialwork_group_commit_seconds",
    "Time a group commit transaction took, from its begin to its commit",
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
GROUP_COMMANDS = Histogram(
    "socialwork_group_commit_commands",
    "Commands in a group commit transaction",
    registry=REGISTRY,
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
LOOP_LAG_SECONDS = Histogram(
    "socialwork_event_loop_lag_seconds",
    "How much later than due the event loop ran a task woken every 0.1 s (a busy process)",
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
GC_PAUSE_SECONDS = Histogram(
    "socialwork_gc_pause_seconds",
    "How long each garbage collection stopped the process, by generation",
    ["generation"],
    registry=REGISTRY,
    buckets=_LATENCY_BUCKETS,
)
DEAD_LETTERS = Counter(
    "socialwork_dead_letters_total",
    "Messages sent to the dead-letter topic, by consumer",
    ["consumer"],
    registry=REGISTRY,
)
EVENTS_APPLIED = Counter(
    "socialwork_consumer_events_applied_total",
    "Events applied by a consumer (after de-duplication)",
    ["consumer"],
    registry=REGISTRY,
)
PARKED_EVENTS = Counter(
    "socialwork_relay_parked_events_total",
    "Events the relay could not publish (refused by Kafka, e.g. too large), parked under /admin",
    ["topic"],
    registry=REGISTRY,
)
RELAY_BATCHES = Counter(
    "socialwork_relay_batches_total",
    "Batches the relay published (events published ÷ batches: how well commits gather)",
    ["topic"],
    registry=REGISTRY,
)
PARKED_RECORDS = Counter(
    "socialwork_consumer_parked_records_total",
    "Records a consumer parked because an earlier version of their stream had not arrived",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_RETRIES = Counter(
    "socialwork_consumer_retries_total",
    "Batches or records retried after a transient database or connection error",
    ["consumer"],
    registry=REGISTRY,
)
OFFSET_GAPS = Counter(
    "socialwork_consumer_offset_gaps_total",
    "Times a consumer received a record past its checkpoint and went back for the rest",
    ["consumer"],
    registry=REGISTRY,
)
STORE_POSITION = Gauge(
    "socialwork_store_position", "Highest global position in the event store", registry=REGISTRY
)
PUBLISHED_POSITION = Gauge(
    "socialwork_relay_published_position",
    "Highest position the relay has published to Kafka (this instance, when leader)",
    registry=REGISTRY,
)
RELAY_LAG = Gauge(
    "socialwork_relay_lag_events",
    "Events committed after the relay's checkpoint (not yet on Kafka)",
    registry=REGISTRY,
)
RELAY_LEADER = Gauge(
    "socialwork_relay_leader", "1 if this instance's relay holds the leader lock", registry=REGISTRY
)
CONSUMER_POSITION = Gauge(
    "socialwork_consumer_position",
    "Next offset a consumer will apply (its projection position), per topic and partition",
    ["consumer", "topic", "partition"],
    registry=REGISTRY,
)
CONSUMER_ASSIGNED = Gauge(
    "socialwork_consumer_assigned_partitions",
    "Partitions assigned to this instance's consumer (the group shares them among instances)",
    ["consumer"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "socialwork_consumer_lag_messages",
    "Messages on the partition not yet applied by the consumer",
    ["consumer", "topic", "partition"],
    registry=REGISTRY,
)
