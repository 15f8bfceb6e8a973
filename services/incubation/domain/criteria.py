"""Graduation criteria as versioned data (graduation_criteria.json), chosen by effective date.

domain.md marks the criteria *configurable*: a new version is a new entry in the JSON file with
its `effective_from`, never a code branch. `system` criteria are checked from facts this service
holds; `records` criteria from what the registry and supervision published (staff counts, the
latest annual inspection) when they are known, else by the assessors' mark; `assessment` criteria
must be marked met by the assessors in the GraduateAgency command.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

CheckedBy = Literal["system", "records", "assessment"]


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    checked_by: CheckedBy
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class CriteriaVersion:
    version: str
    effective_from: dt.date
    criteria: tuple[Criterion, ...]

    def assessed(self) -> tuple[Criterion, ...]:
        """Criteria the assessors may have to mark (records fall back to their mark)."""
        return tuple(c for c in self.criteria if c.checked_by != "system")


@cache
def all_versions() -> tuple[CriteriaVersion, ...]:
    """Every version in the configuration file, oldest first."""
    text = (
        files("services.incubation.domain").joinpath("graduation_criteria.json").read_text("utf-8")
    )
    raw = json.loads(text)
    versions = [
        CriteriaVersion(
            version=v["version"],
            effective_from=dt.date.fromisoformat(v["effective_from"]),
            criteria=tuple(
                Criterion(c["id"], c["checked_by"], c["zh"], c["en"]) for c in v["criteria"]
            ),
        )
        for v in raw["versions"]
    ]
    return tuple(sorted(versions, key=lambda v: v.effective_from))


def criteria_on(
    day: dt.date, versions: tuple[CriteriaVersion, ...] | None = None
) -> CriteriaVersion | None:
    """The version in force on `day`: the latest whose effective_from is on or before it."""
    in_force = [v for v in (versions or all_versions()) if v.effective_from <= day]
    return in_force[-1] if in_force else None
