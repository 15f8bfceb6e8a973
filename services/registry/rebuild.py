"""The registry's read model, as `python -m services.registry rebuild-read-model` rebuilds it from
the registry's log (servicekit.rebuild): every agency stream folded, `registry.agencies` rewritten.
"""

from __future__ import annotations

from servicekit.rebuild import ReadModel, StreamKind
from services.registry import readmodel
from services.registry.domain.agency import evolve
from services.registry.domain.events import RegistryEvent

READ_MODEL = ReadModel(
    service="registry",
    ddl=readmodel.DDL,
    tables=(f"{readmodel.SCHEMA}.agencies",),
    kinds=(StreamKind("agencies", RegistryEvent, evolve, readmodel.upsert_agency),),
)
