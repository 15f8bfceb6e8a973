"""A folded state as bytes, kept as a checkpoint at period ends (issue 12).

A new as-of date used to cost a fold from the first fact (4-19 s at a million facts); from the
state as of the last year or quarter end kept before it, the fold reads at most a year's facts,
mostly a quarter's. The report dates most asked for (half-year and year ends) are quarter ends:
restored, not folded.

Layout: per state field, its views' slots as columns (dict keys apart), pickled and
compressed. Restoring builds each view without its frozen `__init__` (a third of the time), and
reads only the stdlib value types views hold: a stored blob cannot name any other class.
"""

from __future__ import annotations

import array
import collections
import datetime as dt
import hashlib
import io
import itertools
import operator
import pickle
import zlib
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from typing import Any

from services.reporting.domain import operations as ops
from services.reporting.domain import state as st
from services.reporting.domain.records import Records, held, ref

_VIEWS: tuple[type[Any], ...] = (
    st.AgencyView,
    st.BaseView,
    st.IncubationView,
    st.Funding,
    st.Training,
    st.Inspection,
    st.Violation,
    st.Rectification,
    st.Listing,
    st.FollowUp,
    ops.Record,
)
_INDEX = {cls: i for i, cls in enumerate(_VIEWS)}
_SETTERS = [[getattr(cls, name).__set__ for name in cls.__slots__] for cls in _VIEWS]
_STATE_FIELDS = tuple(f.name for f in fields(st.CityState))
# The fields kept as columns (records.Records): restored as columns, no record made.
_RECORDS = frozenset(n for n in _STATE_FIELDS if isinstance(getattr(st.CityState(), n), Records))
_FORMAT = 4  # this module's encoding: raised when `encode` changes
# What a blob was written by: a build whose encoding, views or state differ reads none of them.
LAYOUT = hashlib.sha256(
    repr(
        [(c.__qualname__, c.__slots__) for c in _VIEWS] + [_STATE_FIELDS, sorted(_RECORDS), _FORMAT]
    ).encode()
).hexdigest()[:16]
_ALLOWED = {("datetime", "date"), ("decimal", "Decimal")}


def is_checkpoint_day(day: dt.date) -> bool:
    """The last day of a quarter."""
    return (day + dt.timedelta(days=1)).day == 1 and day.month % 3 == 0


def last_checkpoint_day(on_or_before: dt.date) -> dt.date:
    """The latest quarter end on or before a day."""
    quarter_start = dt.date(on_or_before.year, (on_or_before.month - 1) // 3 * 3 + 1, 1)
    if is_checkpoint_day(on_or_before):
        return on_or_before
    return quarter_start - dt.timedelta(days=1)


def days_to_keep(after: dt.date | None, first: dt.date, cutoff: dt.date) -> list[dt.date]:
    """The checkpoints a fold from `after` (None: from the first fact, of day `first`) to
    `cutoff` keeps: each year end it passes and the last quarter end. Each is encoded once (a
    second at a million facts): a year's worth of folding at most from any date, while the
    first fold of a generation keeps a dozen, not forty."""
    start = after or first - dt.timedelta(days=1)
    days = {dt.date(year, 12, 31) for year in range(start.year, cutoff.year)}
    days.add(last_checkpoint_day(cutoff))
    return sorted(d for d in days if start < d <= cutoff)


def quarter_ends(after: dt.date | None, first: dt.date, cutoff: dt.date) -> list[dt.date]:
    """Every quarter end a fold from `after` (None: from the first fact, of day `first`) to
    `cutoff` passes: what the fold after a switch-over keeps, in the background, so that a new
    as-of date folds a quarter's facts at most and the half-year and quarter ends the reports
    ask for are restored, not folded (~40 states at a million facts)."""
    day = last_checkpoint_day(after or first - dt.timedelta(days=1))
    days = []
    while (day := last_checkpoint_day(day + dt.timedelta(days=92))) <= cutoff:
        days.append(day)
    return days


def encode(state: st.CityState) -> bytes:
    """Per state field, its views' slots as columns (one per slot); strings, dates and integers
    as references into one table of the state's distinct values. Each part compressed on its
    own: neither side holds the whole state's uncompressed bytes (~20 MB at a million facts)."""
    shared = _Shared()
    parts = [_packed(_columns(getattr(state, f), shared)) for f in _STATE_FIELDS]
    return pickle.dumps((_FORMAT, _packed(shared.table), parts), protocol=5)


def decode(blob: bytes) -> st.CityState:
    """One field at a time, each view's slots set from its field's columns: no tuple per view
    beside the views (a restore at a million facts peaked at 286 MB against a fold's 207), and
    one object per distinct string, date and integer across fields, as a fold shares them."""
    found, table, parts = _Restricted(io.BytesIO(blob)).load()
    if found != _FORMAT:  # LAYOUT keeps other encodings' rows unread: this never happens
        raise ValueError(f"checkpoint encoding {found}, this build reads {_FORMAT}")
    table = _unpacked(table)
    state = st.CityState()
    refs: dict[int, int] = {}  # a table index -> that value's index in records.VALUES
    named = list(zip(_STATE_FIELDS, parts, strict=True))
    for name, part in named:
        if name in _RECORDS:
            setattr(state, name, _records(_unpacked(part), table, refs))
    for i, value in enumerate(table):  # the views share the records' values (no second list)
        table[i] = held(value)
    for name, part in named:
        if name not in _RECORDS:
            setattr(state, name, _field(_unpacked(part), table))
    return state


def _packed(value: Any) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=5), 1)


def _unpacked(packed: bytes) -> Any:
    return _Restricted(io.BytesIO(zlib.decompress(packed))).load()


# A field: (its keys or None, its view class's index or None for plain values, its columns).
# A column is its values, or (bytes) indexes into the state's table of shared values.
Column = list[Any] | bytes
Part = tuple[Column | None, int | None, list[Column]]


def _columns(value: dict[Any, Any] | list[Any] | Records[Any], shared: _Shared) -> Part:
    if isinstance(value, Records):
        names = value.names
        return None, _INDEX[value.kind], [shared.refs(list(value.column(n))) for n in names]
    keys, values = (list(value), list(value.values())) if isinstance(value, dict) else (None, value)
    kind = _INDEX.get(type(values[0])) if values else None
    if kind is None:
        columns = [values]
    else:
        cls = _VIEWS[kind]
        if any(type(v) is not cls for v in values):
            raise TypeError(f"a state field mixes {cls.__qualname__} with other types")
        columns = [list(map(operator.attrgetter(slot), values)) for slot in cls.__slots__]
    refs = None if keys is None else shared.refs(keys)
    return refs, kind, [shared.refs(column) for column in columns]


def _field(part: Part, table: list[Any]) -> Any:
    refs, kind, columns = part
    if kind is None:
        values = list(_values(columns[0], table))
    else:
        count = len(columns[0]) // _REF_SIZE if isinstance(columns[0], bytes) else len(columns[0])
        values = list(map(object.__new__, itertools.repeat(_VIEWS[kind], count)))
        for setter, column in zip(_SETTERS[kind], columns, strict=True):
            # In C, one column at a time: the views are the only objects made per record.
            collections.deque(map(setter, values, _values(column, table)), maxlen=0)
    return values if refs is None else dict(zip(_values(refs, table), values, strict=True))


def _records(part: Part, table: list[Any], refs: dict[int, int]) -> Records[Any]:
    """A column of the table's indexes becomes one of records.VALUES's, in C."""
    _, kind, columns = part
    if kind is None:
        raise ValueError("a records field written without its view class")
    return Records.of_columns(
        _VIEWS[kind],
        (
            _translated(_refs(c), table, refs) if isinstance(c, bytes) else _by_object(c)
            for c in columns
        ),
    )


def _translated(column: array.array[int], table: list[Any], refs: dict[int, int]) -> Any:
    for index in set(column).difference(refs):  # each distinct value once
        refs[index] = ref(table[index])
    return map(refs.__getitem__, column)


def _by_object(column: list[Any]) -> Iterator[int]:
    """`ref` of each value, one call per object: an unpickled column repeats the objects it was
    written from (records.VALUES's, pickle's memo), 242k Decimals of a few thousand at 1M."""
    distinct = dict(zip(map(id, column), column, strict=True))
    of_object = dict(zip(distinct, map(ref, distinct.values()), strict=True))
    return map(of_object.__getitem__, map(id, column))


def _refs(column: bytes) -> array.array[int]:
    found = array.array(_REF)
    found.frombytes(column)
    return found


def _values(column: Column, table: list[Any]) -> Iterator[Any]:
    if isinstance(column, bytes):
        refs = array.array(_REF)
        refs.frombytes(column)
        return map(table.__getitem__, refs)
    return iter(column)


_REF, _REF_SIZE = "I", 4  # an index into the table (unsigned, 4 bytes)


class _Codes:
    """The kind of a column of tuples of strings (an agency's service fields): shared too."""


def _only_strings(column: list[Any]) -> bool:
    return all(type(code) is str for codes in column if codes is not None for code in codes)


class _Shared:
    """The distinct strings, dates, integers and tuples of strings of a state being encoded,
    each once: a fold shares them (foldworker._shared, state.codes) and a restore shares them
    again. By type: equal values of different types (1, True) stay apart; Decimals (equal, yet
    written differently: "1.0", "1.00") and tuples of anything but strings stay as they are."""

    def __init__(self) -> None:
        self.table: list[Any] = []
        self.index: dict[type[Any], dict[Any, int]] = {str: {}, dt.date: {}, int: {}, _Codes: {}}

    def refs(self, column: list[Any]) -> Column:
        kinds = set(map(type, column)) - {type(None)}
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind is tuple and _only_strings(column):
            kind = _Codes
        if (index := self.index.get(kind)) is None:  # type: ignore[arg-type]
            return column
        for value in dict.fromkeys(column):
            if value not in index:
                index[value] = len(self.table)
                self.table.append(value)
        return array.array(_REF, map(index.__getitem__, column)).tobytes()


class _Restricted(pickle.Unpickler):
    """Only the value types a view holds besides builtins (see the module's docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"not a checkpoint's value type: {module}.{name}")
        return dt.date if name == "date" else Decimal
