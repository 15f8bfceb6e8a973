"""Base queries: the list, one base with its hardware standard, its offices, calls, residents,
training sessions and evaluations. One named base outside the reader's scope is a 403."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from typing import Any

from fastapi import APIRouter, Response

from servicekit.db import Connection
from servicekit.dependencies import Caller, CurrentRuntime
from servicekit.http import Problem
from services.incubation import readmodel
from services.incubation.authz import ReadScope, read_scope, require_readable
from services.incubation.domain.incubation_base import IncubationBase
from services.incubation.domain.rules import hardware_standard
from services.incubation.handlers import load_base

router = APIRouter(tags=["queries"])
HOLDERS = ("incubation_id", "uscc", "agency_name", "status", "term_end")


def not_found(what: str, key: str) -> Problem:
    return Problem(404, f"{what}_not_found", f"未找到 {key}", f"no {what} {key}")


async def check_base(conn: Connection, scope: ReadScope, base_id: str, action: str) -> None:
    """403 for a base outside the reader's scope (an unknown base is left to the query)."""
    if scope.base is None and scope.unit is None:
        return
    unit = await readmodel.base_unit(conn, base_id) if scope.unit is not None else None
    require_readable(scope, base_id, unit, action)


@router.get("/bases", summary="孵化基地 List bases")
async def list_bases(
    runtime: CurrentRuntime, caller: Caller, reporting_unit: str | None = None
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read bases")
    async with runtime.pool.acquire() as conn:
        return await readmodel.list_bases(
            conn, reporting_unit, in_unit=scope.unit, at_base=scope.base
        )


def _standard(state: IncubationBase) -> dict[str, Any]:
    shortfalls = hardware_standard(state.facilities)
    return {
        "met": not shortfalls,
        "can_admit": not shortfalls and not state.is_closed,
        "shortfalls": [
            {"code": v.code, "message": v.message_zh, "message_en": v.message_en}
            for v in shortfalls
        ],
    }


@router.get("/bases/{base_id}", summary="基地详情 One base, with standard")
async def get_base(
    runtime: CurrentRuntime, response: Response, caller: Caller, base_id: str
) -> dict[str, Any]:
    scope = read_scope(caller, "read bases")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read bases")
        row = await readmodel.get_base(conn, base_id)
        state = await load_base(runtime.store, conn, base_id)
    if row is None or state is None:
        raise not_found("base", base_id)
    response.headers["ETag"] = str(row["version"])
    return {**row, "hardware_standard": _standard(state)}


@router.get("/bases/{base_id}/offices", summary="办公室与占用 Occupancy")
async def offices(runtime: CurrentRuntime, caller: Caller, base_id: str) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read bases")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read bases")
        state = await load_base(runtime.store, conn, base_id)
        holders = await readmodel.find_incubations(
            conn, base_id=base_id, statuses=["signed", "incubating"]
        )
    if state is None:
        raise not_found("base", base_id)
    by_office = {h["office_id"]: {k: h[k] for k in HOLDERS} for h in holders}
    return [
        {
            "office_id": room.office_id,
            "area_m2": f"{room.area_m2:.2f}",
            "shared_room": room.shared_room,
            "occupied_by": by_office.get(room.office_id),
        }
        for room in state.facilities.offices
    ]


@router.get("/bases/{base_id}/calls", summary="申请通知 Calls")
async def calls(runtime: CurrentRuntime, caller: Caller, base_id: str) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read bases")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read bases")
        row = await readmodel.get_base(conn, base_id)
    if row is None:
        raise not_found("base", base_id)
    result: list[dict[str, Any]] = row["calls"]
    return result


@router.get("/bases/{base_id}/residents", summary="在孵机构 Residents")
async def residents(runtime: CurrentRuntime, caller: Caller, base_id: str) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read incubations")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read incubations")
        return await readmodel.find_incubations(conn, base_id=base_id, statuses=["incubating"])


@router.get("/bases/{base_id}/trainings", summary="培训 Training sessions")
async def trainings(runtime: CurrentRuntime, caller: Caller, base_id: str) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read bases")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read bases")
        return await readmodel.find_trainings(conn, base_id)


@router.get("/bases/{base_id}/evaluations", summary="基地运行评估 Evaluations")
async def evaluations(
    runtime: CurrentRuntime, caller: Caller, base_id: str
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read bases")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read bases")
        recorded = await runtime.store.read_stream(base_id, conn=conn)
    if not recorded:
        raise not_found("base", base_id)
    return [r.data for r in recorded if r.event_type == "BaseEvaluated"]
