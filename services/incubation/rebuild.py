"""Incubation's read model, as `python -m services.incubation rebuild-read-model` rebuilds it from
incubation's log (servicekit.rebuild).

Every base, incubation and group stream folded; `incubation.bases`, `incubation.incubations`,
`incubation.support`, `incubation.trainings`, `incubation.groups`,
`incubation.services_delivered` and `incubation.stay_clocks` rewritten.
`incubation.agencies` (registry) and `incubation.listings` (supervision) are learned from other
topics and left untouched.
"""

from __future__ import annotations

from servicekit.rebuild import ReadModel, StreamKind
from services.incubation import readmodel
from services.incubation.domain import group, incubation, incubation_base

_OWN_TABLES = (
    "bases",
    "incubations",
    "support",
    "trainings",
    "groups",
    "services_delivered",
    "stay_clocks",
)

READ_MODEL = ReadModel(
    service="incubation",
    ddl=readmodel.DDL,
    tables=tuple(f"{readmodel.SCHEMA}.{table}" for table in _OWN_TABLES),
    kinds=(
        StreamKind(
            "bases", incubation_base.BaseEvent, incubation_base.evolve, readmodel.upsert_base
        ),
        StreamKind(
            "incubations",
            incubation.IncubationEvent,
            incubation.evolve,
            readmodel.upsert_incubation,
        ),
        # After the bases: a group's row reads the trainings its bases recorded.
        StreamKind("groups", group.GroupEvent, group.evolve, readmodel.upsert_group),
    ),
)
