"""Supervision's read model, as `python -m services.supervision rebuild-read-model` rebuilds it
from supervision's log (servicekit.rebuild).

Every credit file folded; `supervision.credit_files`, `rectifications`, `annual_reports` and
`listings` rewritten. `supervision.agencies` (registry) and `supervision.residencies`
(incubation) are learned from other topics and left untouched.
"""

from __future__ import annotations

from servicekit.rebuild import ReadModel, StreamKind
from services.supervision import readmodel
from services.supervision.domain.credit_file import evolve
from services.supervision.domain.events import SupervisionEvent

_OWN_TABLES = ("credit_files", "rectifications", "annual_reports", "listings")

READ_MODEL = ReadModel(
    service="supervision",
    ddl=readmodel.DDL,
    tables=tuple(f"{readmodel.SCHEMA}.{table}" for table in _OWN_TABLES),
    kinds=(StreamKind("credit files", SupervisionEvent, evolve, readmodel.project_credit_file),),
)
