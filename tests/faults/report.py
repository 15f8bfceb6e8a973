"""The table every run prints and leaves behind: one row per scenario."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.faults.checks import Verdict

HEADER = (
    "scenario",
    "accepted",
    "stored",
    "published",
    "applied",
    "dead-lettered / parked",
    "converged s",
    "total s",
    "verdict",
)
NOTES = (
    "accepted = commands answered 2xx / sent; stored = events of accepted commands in the store "
    "/ answered; published = distinct stored events on Kafka (after de-duplication by event id); "
    "applied = distinct stored events in reporting's facts (it folds every topic); dead-lettered "
    "/ parked = rows / expected, over every consumer; converged = from the fault until every "
    "event is applied and every partition finished."
)


@dataclass(frozen=True)
class Row:
    scenario: str
    sent: int
    accepted: int
    verdict: Verdict
    converged: float | None  # seconds from the fault, None if it never converged
    duration: float
    details: str = ""  # phase times and the answers the clients got, below the table

    def cells(self) -> tuple[str, ...]:
        v = self.verdict
        return (
            self.scenario,
            f"{self.accepted}/{self.sent}",
            f"{v.stored}/{v.accepted_events}",
            str(v.on_kafka),
            str(v.applied),
            f"{v.dead_lettered}/{v.expected_dead} / {v.parked}/{v.expected_parked}",
            "never" if self.converged is None else f"{self.converged:.1f}",
            f"{self.duration:.0f}",
            "pass" if not v.failures else f"FAIL ({len(v.failures)})",
        )


def render(rows: list[Row]) -> str:
    table = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in table]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    details = [f"{row.scenario}: {row.details}" for row in rows if row.details]
    findings = [
        f"{row.scenario} failed:\n" + "\n".join(f"  - {f}" for f in row.verdict.failures)
        for row in rows
        if row.verdict.failures
    ]
    return "\n".join([*lines, "", *details, "", *findings, NOTES]) + "\n"


def write(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(rows), encoding="utf-8")
