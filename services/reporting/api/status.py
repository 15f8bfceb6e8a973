"""GET /projection/status and the reference list of reporting units."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from typing import Any

from fastapi import APIRouter, Request
from socialwork_contracts import reference

from servicekit.auth import require_role
from servicekit.dependencies import Caller, CurrentRuntime
from services.reporting import readmodel
from services.reporting.api.common import Reports
from services.reporting.authz import READERS

router = APIRouter()


@router.get("/projection/status", tags=["operations"], summary="投影状态 Projection status")
async def status(
    request: Request, runtime: CurrentRuntime, reports: Reports, caller: Caller
) -> dict[str, Any]:
    require_role(caller, READERS, "read the projection status")
    async with runtime.pool.acquire() as conn:
        generation = await readmodel.current_generation(conn)
        # An estimate: counting a million facts took 125 ms a request (issue 12).
        facts = await readmodel.facts_estimate(conn, generation)
    consumer = runtime.consumers[0] if runtime.consumers else None
    body: dict[str, Any] = {"generation": generation, "facts_estimate": facts}
    # The name an operator passes to /admin/consumers/{name}/rebuild.
    body["consumer"] = consumer.name if consumer else None
    body["checkpoints"] = (
        {f"{t}/{p}": o for (t, p), o in (await consumer.checkpoints()).items()} if consumer else {}
    )
    body["stats"] = (
        {
            "applied": consumer.stats.applied,
            "duplicates": consumer.stats.duplicates,
            "skipped": consumer.stats.skipped,
            "dead_lettered": consumer.stats.dead_lettered,
        }
        if consumer
        else {}
    )
    body["reports"] = reports.stats()
    # This instance's last operator rebuild: its generation, state, process, outcome or error.
    body["rebuild"] = request.app.state.rebuild.status
    return body


@router.get("/reference/localities", tags=["reference"], summary="统计单位 Reporting units")
async def localities() -> list[reference.Locality]:
    return list(reference.localities())
