"""What this service knows of an agency from the registry's and supervision's topics."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from typing import Any

from fastapi import APIRouter

from servicekit.auth import require_role
from servicekit.dependencies import Caller, CurrentRuntime
from services.incubation import readmodel
from services.incubation.authz import READERS
from services.incubation.http.bases import not_found

router = APIRouter(tags=["queries"])


@router.get("/agencies/{uscc}", summary="机构（本服务所知） Agency facts")
async def agency(runtime: CurrentRuntime, caller: Caller, uscc: str) -> dict[str, Any]:
    require_role(caller, READERS, "read agencies")
    async with runtime.pool.acquire() as conn:
        found = await readmodel.local_agency(conn, uscc)
    if found is None:
        raise not_found("agency", uscc)
    return found
