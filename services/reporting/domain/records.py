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
    """Records of one frozen slotted view class, in arrival order, as one column per slot; or a
    read-only selection of another's (`rows`: its row numbers), as a unit's share of the city's
    records (`split`)."""

    __slots__ = ("columns", "kind", "names", "rows", "size")

    def __init__(self, source: type[V] | Records[V]) -> None:
        self.columns: list[array.array[int]]
        self.rows: array.array[int] | None = None
        self.size: int  # the records of `columns` this holder sees (it may share them)
        if isinstance(source, Records):
            # A copy shares the source's columns up to its size: records are only appended
            # (`append` copies a column another holder has appended to; `replace` writes new
            # ones), so neither sees the other's later records. A held state and its base share
            # their records (issue 12: RSS; 10 MB a fold worker at 1M).
            self.kind: type[V] = source.kind
            self.names: tuple[str, ...] = source.names
            if source.rows is None:
                self.columns, self.size = list(source.columns), source.size
            else:
                self.columns = [array.array(_REF, source.refs(n)) for n in source.names]
                self.size = len(source)
        else:
            self.kind, self.names = source, tuple(source.__slots__)  # type: ignore[attr-defined]
            self.columns = [array.array(_REF) for _ in self.names]
            self.size = 0

    def __len__(self) -> int:
        return self.size if self.rows is None else len(self.rows)

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
        self._writable()
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

    def refs(self, name: str) -> Iterable[int]:
        """One field's indexes into VALUES, in order."""
        column = self.columns[self.names.index(name)]
        if self.rows is not None:
            return map(column.__getitem__, self.rows)
        return column if len(column) == self.size else memoryview(column)[: self.size]

    def column(self, name: str) -> Iterator[Any]:
        """One field's values, in order (in C: no record made)."""
        return map(VALUES.__getitem__, self.refs(name))

    def zipped(self, *names: str) -> Iterator[tuple[Any, ...]]:
        """These fields' values of each record, in order."""
        return zip(*map(self.column, names), strict=True)

    def where(self, name: str, test: Callable[[Any], bool]) -> Iterator[bool]:
        """`test` of each record's field, in order: called once per distinct value (a report
        scans 300k inspections of a few thousand dates)."""
        tested = {r: test(VALUES[r]) for r in set(self.refs(name))}
        return map(tested.__getitem__, self.refs(name))

    def __iter__(self) -> Iterator[V]:
        """The records themselves, each made as it is reached (tests, rare paths)."""
        for values in zip(*map(self.column, self.names), strict=True):
            record = object.__new__(self.kind)
            for name, value in zip(self.names, values, strict=True):
                object.__setattr__(record, name, value)
            yield record

    def replace(self, name: str, old: Any, new: Any) -> None:
        """Every record's `name` equal to `old` (same type) becomes `new`."""
        self._writable()
        at, was, now = self.names.index(name), ref(old), ref(new)
        column = self.columns[at] = self.columns[at][: self.size]  # never in place: shared
        for i in (i for i, r in enumerate(column) if r == was):
            column[i] = now

    def _writable(self) -> None:
        if self.rows is not None:
            raise TypeError("a selection of records is read only")

    def split(self, key_of: Callable[[Any], str | None], name: str) -> dict[str, Records[V]]:
        """Selections of these records grouped by `key_of(their field's value)` (keys in order
        of first appearance; None: left out), each in order, sharing these columns: 4 bytes a
        record in all
        (issue 12: RSS). One call of `key_of` per distinct value (a city's 300k inspections by
        the units of 50k credit codes); each row number goes straight into its group's array:
        sorting the row numbers made an int object and two list slots a record (at 1M, 11 of a
        half-year render's 14 MB peak) and took longer (39 against 7 ms for 154k records)."""
        rows: dict[str, array.array[int]] = {}

        def group(key: str | None) -> Callable[[int], None]:
            return _left_out if key is None else rows.setdefault(key, array.array(_REF)).append

        append_to = {r: group(key_of(VALUES[r])) for r in set(self.refs(name))}
        positions = range(self.size) if self.rows is None else self.rows  # in the columns
        for append, at in zip(map(append_to.__getitem__, self.refs(name)), positions, strict=True):
            append(at)
        parts: dict[str, Records[V]] = {}
        for key, selected in sorted(rows.items(), key=lambda group: group[1][0]):
            part = parts[key] = Records(self.kind)
            part.columns, part.rows = self.columns, selected
        return parts

    @classmethod
    def of_columns(cls, kind: type[V], columns: Iterable[Iterable[int]]) -> Records[V]:
        """Records from one column of VALUES indexes per slot (a restore)."""
        made = cls(kind)
        made.columns = [array.array(_REF, refs) for refs in columns]
        if len(made.columns) != len(made.names) or len(set(map(len, made.columns))) > 1:
            raise ValueError(f"not {kind.__qualname__}'s columns")
        made.size = len(made.columns[0])
        return made


def _left_out(at: int) -> None:
    """A split's record of no group."""
