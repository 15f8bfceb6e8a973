"""Sums by reporting unit, added up while a state's collections are read once (the half-year
report: reports.half_year_figures).

Each record adds into the sums of its owner's unit: every unit's, "unknown" included (a base or
agency the state does not hold), for the whole city; or one unit's, the others' records passed
over. The city's row is the sum of every unit's, except distinct counts (an agency staying at
bases of two units is one agency of the city), which are counted over the union of the units'
sets. The city report took a scan of every collection for each of its 17 rows (issue 12).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

UNKNOWN = "unknown"  # the unit of a base or agency the state does not hold
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Sums:
    """One unit's figures being added up: counts and amounts, and sets for distinct counts."""

    counts: defaultdict[str, int | Decimal] = field(default_factory=lambda: defaultdict(int))
    distinct: defaultdict[str, set[Hashable]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def merged(cls, parts: Iterable[Sums]) -> Sums:
        """The sums of all these units: counts added, sets joined."""
        whole = cls()
        for part in parts:
            for key, value in part.counts.items():
                whole.counts[key] += value
            for key, values in part.distinct.items():
                whole.distinct[key] |= values
        return whole


class Tally:
    """The sums of every unit (`scope` None), or of `scope` alone."""

    def __init__(self, scope: str | None) -> None:
        self.scope = scope
        self.units: dict[str, Sums] = {}

    def of(self, unit: str) -> Sums | None:
        """The unit's sums; None for a unit outside the scope (its record is passed over)."""
        if self.scope is not None and unit != self.scope:
            return None
        found = self.units.get(unit)
        if found is None:
            found = self.units[unit] = Sums()
        return found

    def add(self, counted: Counter[Any], add: Callable[[Sums, Any, int], None]) -> None:
        """Records counted by keys whose first item is their unit: `add(sums, key, n)` once per
        distinct key, into its unit's sums (a city's 44k agencies are a few hundred keys)."""
        for key, n in counted.items():
            sums = self.of(key[0])
            if sums is not None:
                add(sums, key, n)

    def city(self) -> Sums:
        return Sums.merged(self.units.values())


class Memo(dict[K, V], Generic[K, V]):
    """`compute` of each key, called once per distinct key (a date's place in the period, a
    record's owner's unit); a key seen before is a dict lookup in C."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: K) -> V:
        value = self[key] = self.compute(key)
        return value
