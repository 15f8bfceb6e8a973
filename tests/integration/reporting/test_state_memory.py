"""A folded state holds one object per distinct value (issue 12: RSS at a million facts).

As parsed, every fact's credit code, dates, codes and amounts were separate objects; a million
facts repeat a few thousand of each hundreds of thousands of times.
"""

from __future__ import annotations

import datetime as dt

from services.reporting import foldworker
from services.reporting.domain.targets import TargetOptions
from services.reporting.views import ReportQuery
from tests.integration.reporting.prepared import generated_facts


async def test_a_folded_state_shares_repeated_values(database_url: str) -> None:
    generation = await generated_facts(database_url, 4000, seed=41)
    worker = foldworker.Worker()
    query = ReportQuery("targets", dt.date(2030, 1, 1), None, None)
    await worker.answer(database_url, generation, [query], TargetOptions())
    (held,) = worker.held.values()
    state = held.state
    values = [
        *(i.concluded_on for i in state.inspections),
        *(i.uscc for i in state.inspections),
        *(i.conclusion for i in state.inspections),
        *(t.hours for t in state.trainings),
        *(t.held_on for t in state.trainings),
        *(f.amount for f in state.funding),
        *(a.reporting_unit for a in state.agencies.values()),
    ]
    assert len(values) > 1000
    assert len({id(v) for v in values}) == len({(type(v), str(v)) for v in values})
