"""The verdict: what every scenario must end with, whatever was done to the platform.

Each check returns readable failures (a few examples and a count), so one failing scenario
says everything that went wrong, not only the first thing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tests.faults.badrecords import DEAD_LETTER_KINDS, Injected
from tests.faults.evidence import PRODUCERS, ConsumerSpec, Evidence, Where, behind
from tests.faults.kafka_log import TopicView, analyse
from tests.faults.load import Oracle

# Registry facts that set the agency's status, and the status each leaves (services/*/consumers).
STATUS_AFTER = {
    "AgencyRegistered": "active",
    "AgencyProfileAmended": None,  # keeps the status
    "AgencyStaffChanged": None,  # graduation reads the counts (issue 11)
    "AgencySuspended": "suspended",
    "AgencyReinstated": "active",
    "AgencyDeregistered": "deregistered",
    "AgencyRegistrationRevoked": "revoked",
}


@dataclass
class Verdict:
    failures: list[str] = field(default_factory=list)
    accepted_events: int = 0
    stored: int = 0
    on_kafka: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    expected_dead: int = 0
    parked: int = 0
    expected_parked: int = 0

    def fail(self, what: str, examples: Iterable[object]) -> None:
        items = list(examples)
        if items:
            shown = "; ".join(str(x) for x in items[:5])
            self.failures.append(f"{what} ({len(items)}): {shown}")


def judge(
    oracle: Oracle,
    evidence: Evidence,
    specs: Sequence[ConsumerSpec],
    injected: Sequence[Injected],
) -> Verdict:
    verdict = Verdict()
    _store(verdict, oracle, evidence)
    views = _kafka(verdict, evidence, injected)
    _applied(verdict, evidence, injected)
    _partitions(verdict, evidence, specs)
    _streams(verdict, evidence, specs)
    _bad_records(verdict, evidence, specs, injected)
    verdict.on_kafka = sum(len(v.ids) for v in views.values())
    return verdict


def _store(verdict: Verdict, oracle: Oracle, evidence: Evidence) -> None:
    """Every accepted command's events are stored, exactly once (searched by correlation id)."""
    by_command: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for schema, rows in evidence.stored.items():
        for r in rows:
            if not r["actor"].startswith("system:"):
                by_command[(schema, r["correlation_id"])].append((r["event_id"], r["event_type"]))
    lost, differ = [], []
    for key, ids in oracle.accepted.items():
        verdict.accepted_events += len(ids)
        found = {
            event_id for event_id, _ in by_command.get((oracle.commands[key].service, key), [])
        }
        verdict.stored += len(found & set(ids))
        if not found:
            lost.append(key)
        elif found != set(ids):
            differ.append(f"{key}: answered {sorted(ids)}, stored {sorted(found)}")
    verdict.fail("accepted commands with no event in the store", lost)
    verdict.fail("accepted commands whose stored events differ from the answer", differ)
    twice = [
        f"{schema}/{key}: {dict(types)}"
        for (schema, key), events in by_command.items()
        if key in oracle.commands
        for types in [Counter(t for _, t in events)]
        if max(types.values()) > 1
    ]
    verdict.fail("commands executed more than once", twice)

    # The registry's process manager: each accepted suspension penalty suspends the agency once.
    reactions = Counter(r["causation_id"] for r in evidence.stored["registry"])
    penalties = oracle.penalties()
    verdict.fail(
        "suspension penalties the registry followed other than once (cause: count)",
        [f"{p}: {reactions[p]}" for p in penalties if reactions[p] != 1],
    )


def _kafka(
    verdict: Verdict, evidence: Evidence, injected: Sequence[Injected]
) -> dict[str, TopicView]:
    """Every stored event is on its topic (after de-duplication), nothing else, streams in order."""
    coordinates = {i.coordinate for i in injected}
    views = {}
    for schema, topic in PRODUCERS.items():
        view = analyse(evidence.records[topic], coordinates)
        views[topic] = view
        stored = {r["event_id"] for r in evidence.stored[schema]}
        verdict.duplicates += view.duplicates
        verdict.fail(f"{schema} events stored but not on {topic}", sorted(stored - view.ids))
        verdict.fail(f"events on {topic} that {schema} never stored", sorted(view.ids - stored))
        verdict.fail(f"{topic} out of order or mis-keyed", view.problems)
    return views


def _applied(verdict: Verdict, evidence: Evidence, injected: Sequence[Injected]) -> None:
    """Each consumer's effects match the stored history: nothing missing, nothing extra."""
    stored = {r["event_id"] for rows in evidence.stored.values() for r in rows}
    verdict.applied = len(evidence.facts & stored)
    verdict.fail("stored events reporting never applied", sorted(stored - evidence.facts))
    bad_ids = {i.event_id for i in injected if i.event_id is not None}
    verdict.fail("injected records reporting applied", sorted(evidence.facts & bad_ids))
    verdict.fail(
        "facts reporting holds of no stored event", sorted(evidence.facts - stored - bad_ids)
    )

    last = {r["stream_id"]: r["stream_version"] for r in evidence.stored["registry"]}
    own = evidence.registry_agencies
    verdict.fail(
        "registry.agencies rows not at their stream's last version (uscc: expected, found)",
        [f"{u}: {v}, {own.get(u)}" for u, v in sorted(last.items()) if own.get(u) != v]
        + [f"{u}: none, {v}" for u, v in sorted(own.items()) if u not in last],
    )
    expected: dict[str, tuple[str, int]] = {}
    for r in evidence.stored["registry"]:
        if r["event_type"] in STATUS_AFTER:
            status = STATUS_AFTER[r["event_type"]] or expected[r["stream_id"]][0]
            expected[r["stream_id"]] = (status, r["stream_version"])
    inc, sup = evidence.incubation_agencies, evidence.supervision_agencies
    verdict.fail(
        "incubation.agencies rows not at the last registry fact (uscc: expected, found)",
        [
            f"{u}: {want}, {inc.get(u)}"
            for u, want in sorted(expected.items())
            if inc.get(u) != want
        ],
    )
    verdict.fail("incubation.agencies rows of no stored agency", sorted(set(inc) - set(expected)))
    verdict.fail(
        "supervision.agencies rows not at the last registry status (uscc: expected, found)",
        [f"{u}: {s}, {sup.get(u)}" for u, (s, _) in sorted(expected.items()) if sup.get(u) != s],
    )
    verdict.fail("supervision.agencies rows of no stored agency", sorted(set(sup) - set(expected)))
    verdict.fail(
        "listings incubation never learnt",
        sorted(evidence.listings_expected - evidence.incubation_listings),
    )
    verdict.fail(
        "incubation listings of no stored listing",
        sorted(evidence.incubation_listings - evidence.listings_expected),
    )


def _partitions(verdict: Verdict, evidence: Evidence, specs: Sequence[ConsumerSpec]) -> None:
    lagging = behind(specs, evidence.checkpoints, evidence.ends)
    verdict.fail(
        "partitions a consumer has not finished (consumer topic/partition: checkpoint of end)",
        [f"{c} {t}/{p}: {at} of {end}" for (c, t, p), (at, end) in sorted(lagging.items())],
    )


def _streams(verdict: Verdict, evidence: Evidence, specs: Sequence[ConsumerSpec]) -> None:
    """Each consumer's per-stream state is the last stored event of every stream it reads."""
    wrong = []
    for schema, topic in PRODUCERS.items():
        last = {
            r["stream_id"]: (r["stream_version"], r["event_id"]) for r in evidence.stored[schema]
        }
        for spec in specs:
            if topic in spec.topics:
                for stream, want in sorted(last.items()):
                    found = evidence.streams.get((spec.name, topic, stream))
                    if found != want:
                        wrong.append(f"{spec.name} {stream}: stored {want}, applied {found}")
    verdict.fail("consumer stream states not at the last stored event", wrong)


def _bad_records(
    verdict: Verdict,
    evidence: Evidence,
    specs: Sequence[ConsumerSpec],
    injected: Sequence[Injected],
) -> None:
    """Each injected record, for each consumer of its topic, got its kind's treatment (with a
    reason), nothing else was dead-lettered or left parked, and valid records came after it."""
    dead: dict[Where, str] = {}
    parked: dict[Where, str] = {}
    skipped: list[str] = []
    for record in injected:
        for spec in specs:
            if record.coordinate[0] not in spec.topics:
                continue
            where = (spec.name, *record.coordinate)
            if record.kind in DEAD_LETTER_KINDS:
                dead[where] = record.kind
            elif record.kind == "gap":
                parked[where] = record.kind
            elif (
                record.kind == "unknown_type"
                and (spec.name, record.event_id) not in evidence.skipped
            ):
                skipped.append(f"{spec.name}: {record.event_id}")
    verdict.dead_lettered, verdict.expected_dead = len(evidence.dead_letters), len(dead)
    verdict.parked, verdict.expected_parked = len(evidence.parked), len(parked)
    for what, expected, rows in (
        ("dead-lettered", dead, evidence.dead_letters),
        ("parked", parked, evidence.parked),
    ):
        found = Counter(where for where, _ in rows)
        verdict.fail(
            f"bad records not {what}", [_named(w, k) for w, k in expected.items() if w not in found]
        )
        verdict.fail(
            f"records {what} that should not be",
            [_named(w, "valid") for w in found if w not in expected],
        )
        verdict.fail(
            f"records {what} more than once",
            [_named(w, expected.get(w, "")) for w, n in found.items() if n > 1],
        )
        verdict.fail(
            f"records {what} without a reason",
            [_named(w, "") for w, why in rows if not why.strip()],
        )
    verdict.fail("unknown types not recorded in skipped_events", skipped)

    bad = {i.coordinate for i in injected}
    last_valid: dict[tuple[str, int], int] = {}
    for published in evidence.records.values():
        for r in published:
            if r.coordinate not in bad:
                at = (r.topic, r.partition)
                last_valid[at] = max(last_valid.get(at, -1), r.offset)
    verdict.fail(
        "bad records no valid record followed on their partition",
        [
            f"{i.kind} at {i.coordinate}"
            for i in injected
            if last_valid.get((i.coordinate[0], i.coordinate[1]), -1) < i.coordinate[2]
        ],
    )


def _named(where: Where, kind: str) -> str:
    consumer, topic, partition, offset = where
    return f"{consumer} {topic}/{partition}@{offset} ({kind})"
