"""注册协助: the groups in preparation the bases assist, filtered to the reader's scope."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, Query

from servicekit.dependencies import Caller, CurrentRuntime
from services.incubation import readmodel
from services.incubation.authz import read_scope

router = APIRouter(tags=["queries"])


@router.get("/groups", summary="注册协助 Groups in preparation")
async def groups(
    runtime: CurrentRuntime,
    caller: Caller,
    base_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(preparing|registered)$")] = None,
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read groups")
    if scope.base is not None and base_id not in (None, scope.base):
        return []  # an out-of-scope filter gives an empty list, as elsewhere
    async with runtime.pool.acquire() as conn:
        return await readmodel.find_groups(
            conn, base_id=scope.base or base_id, unit=scope.unit, status=status
        )
