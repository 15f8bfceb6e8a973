"""Append-only records (inspections, trainings, funding) kept as columns of 4-byte references.

A fold worker holding a million facts held 542k of these records as objects: 64-88 bytes each
plus a list slot, 40 MB of its ~100 MB of state, and again a list slot in its base and its
by-unit split (issue 12: reporting's RSS). Here a record is one 4-byte reference per field into
the process's table of distinct values (`VALUES`): 16-24 bytes, copied by `memcpy`. Reports read
the columns they need (`column`) without making a record; iterating makes records on demand.
"""

from __future__ import annotations

import array
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, Generic, TypeVar

V = TypeVar("V")

_REF = "I"  # an unsigned 4-byte index into VALUES

# Every distinct value a record of this process has held, once: a million facts repeat a few
# thousand dates, codes and amounts and ~50k credit codes. One index per type (1 and True stay
# apart); a Decimal by its text ("1.0" and "1.00" are equal, yet printed apart).
VALUES: list[Any] = [None]
_INDEX: dict[type[Any], dict[Any, int]] = {kind: {} for kind in (str, int, bool, dt.date, Decimal)}


def ref(value: Any) -> int:
    """The value's index in VALUES (added on first sight)."""
    if value is None:
        return 0
    kind = type(value)
    index = _INDEX.get(kind)
    if index is None:  # a view's values are plain and immutable
        raise TypeError(f"not a record's value: {kind.__name__}")
    key = str(value) if kind is Decimal else value
    found = index.get(key)
    if found is None:
        found = index[key] = len(VALUES)
        VALUES.append(value)
    return found


def held(value: Any) -> Any:
    """The object VALUES holds equal to `value` (same type; a Decimal of the same text), else
    `value`: a restored state's views then share their values with its records."""
    index = _INDEX.get(type(value))
    if index is None:
        return value
    found = index.get(str(value) if type(value) is Decimal else value)
    return value if found is None else VALUES[found]


class Records(Generic[V]):
    """Records of one frozen slotted view class, in arrival order, as one column per slot."""

    __slots__ = ("columns", "kind", "names")

    def __init__(self, source: type[V] | Records[V]) -> None:
        self.columns: list[array.array[int]]
        if isinstance(source, Records):  # a copy: the columns change apart from the source's
            self.kind: type[V] = source.kind
            self.names: tuple[str, ...] = source.names
            self.columns = [array.array(_REF, c) for c in source.columns]
        else:
            self.kind, self.names = source, tuple(source.__slots__)  # type: ignore[attr-defined]
            self.columns = [array.array(_REF) for _ in self.names]

    def __len__(self) -> int:
        return len(self.columns[0])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Records) and (self.kind, self.columns) == (
            other.kind,
            other.columns,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"Records({self.kind.__qualname__}, {len(self)})"

    def append(self, record: V) -> None:
        for column, name in zip(self.columns, self.names, strict=True):
            column.append(ref(getattr(record, name)))

    def column(self, name: str) -> Iterator[Any]:
        """One field's values, in order (in C: no record made)."""
        return map(VALUES.__getitem__, self.columns[self.names.index(name)])

    def __iter__(self) -> Iterator[V]:
        """The records themselves, each made as it is reached (tests, rare paths)."""
        for refs in zip(*self.columns, strict=True):
            record = object.__new__(self.kind)
            for name, index in zip(self.names, refs, strict=True):
                object.__setattr__(record, name, VALUES[index])
            yield record

    def replace(self, name: str, old: Any, new: Any) -> None:
        """Every record's `name` equal to `old` (same type) becomes `new`."""
        column, was, now = self.columns[self.names.index(name)], ref(old), ref(new)
        for i in (i for i, r in enumerate(column) if r == was):
            column[i] = now

    def split(self, key_of: Callable[..., str], *names: str) -> dict[str, Records[V]]:
        """The records grouped by `key_of(*their names' values)`, each group in order."""
        rows: dict[str, list[int]] = {}
        for i, key in enumerate(map(key_of, *(self.column(n) for n in names))):
            rows.setdefault(key, []).append(i)
        parts: dict[str, Records[V]] = {}
        for key, picked in rows.items():
            part = parts[key] = Records(self.kind)
            part.columns = [array.array(_REF, map(c.__getitem__, picked)) for c in self.columns]
        return parts

    @classmethod
    def of_columns(cls, kind: type[V], columns: Iterable[Iterable[int]]) -> Records[V]:
        """Records from one column of VALUES indexes per slot (a restore)."""
        made = cls(kind)
        made.columns = [array.array(_REF, refs) for refs in columns]
        if len(made.columns) != len(made.names) or len(set(map(len, made.columns))) > 1:
            raise ValueError(f"not {kind.__qualname__}'s columns")
        return made
