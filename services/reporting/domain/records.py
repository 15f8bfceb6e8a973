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
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
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


def by_ref(mapping: Mapping[str, V]) -> dict[int, V]:
    """The mapping keyed by the VALUES index of each of its texts a record holds (the others
    left out): a column of references is then looked up as it is, in C, each reference not
    decoded and no call per distinct one (a city's half-year: the units of 38k agencies)."""
    keyed: dict[int | None, V] = dict(
        zip(map(_INDEX[str].get, mapping), mapping.values(), strict=True)
    )
    keyed.pop(None, None)
    return keyed  # type: ignore[return-value]  # None, the only other key, is gone


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

    __slots__ = ("columns", "kind", "names", "size")

    def __init__(self, source: type[V] | Records[V]) -> None:
        self.columns: list[array.array[int]]
        self.size: int  # the records of `columns` this holder sees (it may share them)
        if isinstance(source, Records):
            # A copy shares the source's columns up to its size: records are only appended
            # (`append` copies a column another holder has appended to; `replace` writes new
            # ones), so neither sees the other's later records. A held state and its base share
            # their records (issue 12: RSS; 10 MB a fold worker at 1M).
            self.kind: type[V] = source.kind
            self.names: tuple[str, ...] = source.names
            self.columns, self.size = list(source.columns), source.size
        else:
            self.kind, self.names = source, tuple(source.__slots__)  # type: ignore[attr-defined]
            self.columns = [array.array(_REF) for _ in self.names]
            self.size = 0

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Records)
            and self.kind == other.kind
            and all(
                array.array(_REF, self.refs(n)) == array.array(_REF, other.refs(n))
                for n in self.names
            )
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"Records({self.kind.__qualname__}, {len(self)})"

    def append(self, record: V) -> None:
        self.add(**{name: getattr(record, name) for name in self.names})

    def add(self, **values: Any) -> None:
        """One record given by its fields' values: a fold's, without making the record (its
        frozen `__init__` and a `getattr` per field were a third of a fact's fold, issue 12)."""
        if len(values) != len(self.names):
            raise TypeError(
                f"{self.kind.__qualname__} has fields {self.names}, not {tuple(values)}"
            )
        refs = [ref(values[name]) for name in self.names]
        at = self.size
        if len(self.columns[0]) > at:  # another holder appended to the shared columns
            if all(c[at] == r for c, r in zip(self.columns, refs, strict=True)):
                self.size += 1  # the same record: a base catching up with its state shares it
                return
            self.columns = [c[:at] for c in self.columns]
        for column, r in zip(self.columns, refs, strict=True):
            column.append(r)
        self.size += 1

    def refs(self, name: str, rows: range | None = None) -> Sequence[int]:
        """One field's indexes into VALUES, in order (of these `rows` only, if given)."""
        column = self.columns[self.names.index(name)]
        start, stop = (0, self.size) if rows is None else (rows.start, rows.stop)
        if start == 0 and stop == len(column):
            return column
        return memoryview(column)[start:stop]

    def span(self, name: str, first: Any, last: Any) -> range:
        """The rows whose `name` is within [first, last], by two binary searches: for records
        appended in the order of that field, as a fold appends funding, trainings and
        inspections (in effective order, their own date; state.DATED). A half-year reads its
        period's rows alone (issue 12: at 1M, 38k of 154k inspections in 2023)."""
        column = self.refs(name)
        start = bisect_left(column, first, key=VALUES.__getitem__)
        return range(start, bisect_right(column, last, start, key=VALUES.__getitem__))

    def column(self, name: str) -> Iterator[Any]:
        """One field's values, in order (in C: no record made)."""
        return map(VALUES.__getitem__, self.refs(name))

    def __iter__(self) -> Iterator[V]:
        """The records themselves, each made as it is reached (tests, rare paths)."""
        for values in zip(*map(self.column, self.names), strict=True):
            record = object.__new__(self.kind)
            for name, value in zip(self.names, values, strict=True):
                object.__setattr__(record, name, value)
            yield record

    def replace(self, name: str, old: Any, new: Any) -> None:
        """Every record's `name` equal to `old` (same type) becomes `new`."""
        at, was, now = self.names.index(name), ref(old), ref(new)
        # Never in place (shared), and every column cut to this holder's records: `add` reads
        # the first column's length for all of them (a base catching up with its state ahead
        # raised IndexError on the column cut alone).
        self.columns = [c[: self.size] for c in self.columns]
        column = self.columns[at]
        for i in (i for i, r in enumerate(column) if r == was):
            column[i] = now

    @classmethod
    def of_columns(cls, kind: type[V], columns: Iterable[Iterable[int]]) -> Records[V]:
        """Records from one column of VALUES indexes per slot (a restore)."""
        made = cls(kind)
        made.columns = [array.array(_REF, refs) for refs in columns]
        if len(made.columns) != len(made.names) or len(set(map(len, made.columns))) > 1:
            raise ValueError(f"not {kind.__qualname__}'s columns")
        made.size = len(made.columns[0])
        return made
