"""A folded state as bytes, kept as a checkpoint at period ends (issue 12).

A new as-of date used to cost a fold from the first fact (4-19 s at a million facts); from the
state as of the last year or quarter end kept before it, the fold reads at most a year's facts,
mostly a quarter's. The report dates most asked for (half-year and year ends) are quarter ends:
restored, not folded.

Layout: per state field, the views as tuples of their slots (dict keys apart), pickled and
compressed. Restoring builds each view without its frozen `__init__` (a third of the time), and
reads only the stdlib value types views hold: a stored blob cannot name any other class.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import operator
import pickle
import zlib
from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import Any

from services.reporting.domain import operations as ops
from services.reporting.domain import state as st

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
_SLOTS: dict[type[Any], Callable[[Any], tuple[Any, ...]]] = {
    cls: operator.attrgetter(*cls.__slots__) for cls in _VIEWS
}
_SETTERS = [[getattr(cls, name).__set__ for name in cls.__slots__] for cls in _VIEWS]
_STATE_FIELDS = tuple(f.name for f in fields(st.CityState))
_FORMAT = 2  # this module's encoding: raised when `encode` changes
# What a blob was written by: a build whose encoding, views or state differ reads none of them.
LAYOUT = hashlib.sha256(
    repr([(c.__qualname__, c.__slots__) for c in _VIEWS] + [_STATE_FIELDS, _FORMAT]).encode()
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


def encode(state: st.CityState) -> bytes:
    parts: list[bytes] = []
    for name in _STATE_FIELDS:
        value = getattr(state, name)
        if isinstance(value, dict):
            part: Any = (list(value), [_row(v) for v in value.values()])
        else:
            part = [_row(v) for v in value]
        parts.append(pickle.dumps(part, protocol=5))
    return zlib.compress(pickle.dumps(parts, protocol=5), 1)


def decode(blob: bytes) -> st.CityState:
    """One field at a time: its tuples are let go before the next field's are read (read all
    at once, they doubled the memory a restore took: 207 -> 303 MB at a million facts)."""
    parts: list[bytes] = _Restricted(io.BytesIO(zlib.decompress(blob))).load()
    state = st.CityState()
    for name, part in zip(_STATE_FIELDS, parts, strict=True):
        setattr(state, name, _field(part))
    return state


def _field(part: bytes) -> Any:
    value = _Restricted(io.BytesIO(part)).load()
    if isinstance(value, tuple):
        keys, rows = value
        return dict(zip(keys, [_view(r) for r in rows], strict=True))
    return [_view(r) for r in value]


def _row(value: Any) -> Any:
    kind = _INDEX.get(type(value))
    return value if kind is None else (kind, _SLOTS[type(value)](value))


def _view(row: Any) -> Any:
    if not isinstance(row, tuple):
        return row  # a plain value (a penalty's kind)
    kind, values = row
    view = object.__new__(_VIEWS[kind])
    for setter, value in zip(_SETTERS[kind], values, strict=True):
        setter(view, value)
    return view


class _Restricted(pickle.Unpickler):
    """Only the value types a view holds besides builtins (see the module's docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"not a checkpoint's value type: {module}.{name}")
        return dt.date if name == "date" else Decimal
