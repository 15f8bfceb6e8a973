"""Which days a fold keeps its state as of (domain/checkpoint.py): pure."""

from __future__ import annotations

import datetime as dt

from services.reporting.domain.checkpoint import days_to_keep, quarter_ends


def test_every_quarter_end_from_the_first_fact_to_the_cutoff() -> None:
    assert quarter_ends(None, dt.date(2016, 3, 31), dt.date(2017, 6, 29)) == [
        dt.date(2016, 3, 31),
        dt.date(2016, 6, 30),
        dt.date(2016, 9, 30),
        dt.date(2016, 12, 31),
        dt.date(2017, 3, 31),
    ]


def test_every_quarter_end_after_a_kept_day_and_on_the_cutoff() -> None:
    assert quarter_ends(dt.date(2016, 12, 31), dt.date(2017, 1, 3), dt.date(2017, 9, 30)) == [
        dt.date(2017, 3, 31),
        dt.date(2017, 6, 30),
        dt.date(2017, 9, 30),
    ]
    assert quarter_ends(dt.date(2017, 9, 30), dt.date(2017, 10, 1), dt.date(2017, 12, 30)) == []


def test_an_answers_fold_keeps_year_ends_and_the_last_quarter_end_only() -> None:
    """An answer waits for what its fold keeps (~0.7 s a state at 1M): not every quarter."""
    assert days_to_keep(None, dt.date(2016, 3, 31), dt.date(2017, 8, 1)) == [
        dt.date(2016, 12, 31),
        dt.date(2017, 6, 30),
    ]
