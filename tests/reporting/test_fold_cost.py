"""What a fold does per fact (issue 12: a first answer by recording folds 160k facts at 1M).

A record (inspection, training, funding) was made as a frozen object, read back a field at a
time into its columns and dropped; its event's values were shared one by one although the
columns share them anyway (records.VALUES). Counted here, not timed (shared, noisy host).
"""

from __future__ import annotations

import datetime as dt

import pytest
from socialwork_contracts.base import DomainEvent

from services.reporting import foldworker
from services.reporting.domain.records import Records
from services.reporting.domain.state import Funding, Inspection, Training
from tests.reporting.test_checkpoint_memory import folded

FACTS = 3000


def test_a_fold_makes_no_record_object_and_shares_no_record_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = folded(FACTS, seed=17)
    made: list[type] = []
    shared: list[str] = []
    for kind in (Funding, Inspection, Training):
        monkeypatch.setattr(kind, "__init__", lambda self, *a, k=kind, **kw: made.append(k))
    sharing = foldworker._shared

    def counted(event: DomainEvent, day: dt.date) -> dt.date:
        shared.append(event.event_type)
        return sharing(event, day)

    monkeypatch.setattr(foldworker, "_shared", counted)
    state = folded(FACTS, seed=17)
    assert made == []
    assert shared and not {"SupportRecorded", "TrainingDelivered"} & set(shared)
    assert "AnnualInspectionConcluded" not in shared
    assert state == expected  # the same state, its records compared by their values


def test_a_record_given_other_fields_is_refused() -> None:
    records = Records(Inspection)
    with pytest.raises(TypeError):
        records.add(uscc="x", year=2024)
    assert len(records) == 0
