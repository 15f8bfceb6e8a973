"""Incubation queries: applications, agreements, one incubation, the support given. Lists are
filtered to the reader's scope; one incubation at a base outside it is a 403."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from servicekit.dependencies import Caller, CurrentRuntime
from services.incubation import readmodel
from services.incubation.authz import read_scope
from services.incubation.http.bases import check_base, not_found

router = APIRouter(tags=["queries"])


@router.get("/applications", summary="入孵申请 Applications")
async def applications(
    runtime: CurrentRuntime,
    caller: Caller,
    base_id: str | None = None,
    call_id: str | None = None,
    uscc: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read incubations")
    async with runtime.pool.acquire() as conn:
        return await readmodel.find_incubations(
            conn,
            base_id=base_id,
            call_id=call_id,
            uscc=uscc,
            statuses=status,
            in_unit=scope.unit,
            at_base=scope.base,
        )


@router.get("/agreements", summary="入孵协议 Agreements")
async def agreements(
    runtime: CurrentRuntime, caller: Caller, base_id: str | None = None, uscc: str | None = None
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read incubations")
    async with runtime.pool.acquire() as conn:
        return await readmodel.find_incubations(
            conn,
            base_id=base_id,
            uscc=uscc,
            with_agreement=True,
            in_unit=scope.unit,
            at_base=scope.base,
        )


@router.get("/incubations/{incubation_id}", summary="入孵详情 One")
async def incubation(
    runtime: CurrentRuntime, response: Response, caller: Caller, incubation_id: str
) -> dict[str, Any]:
    scope = read_scope(caller, "read incubations")
    async with runtime.pool.acquire() as conn:
        row = await readmodel.get_incubation(conn, incubation_id)
        if row is None:
            raise not_found("incubation", incubation_id)
        await check_base(conn, scope, row["base_id"], "read incubations")
    response.headers["ETag"] = str(row["version"])
    return row


@router.get("/support", summary="扶持记录 Support given")
async def support(
    runtime: CurrentRuntime,
    caller: Caller,
    base_id: str | None = None,
    incubation_id: str | None = None,
    uscc: str | None = None,
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read support")
    async with runtime.pool.acquire() as conn:
        return await readmodel.find_support(
            conn,
            base_id=base_id,
            incubation_id=incubation_id,
            uscc=uscc,
            in_unit=scope.unit,
            at_base=scope.base,
        )


@router.get("/services", summary="提供专业服务 Services delivered")
async def services(
    runtime: CurrentRuntime, caller: Caller, base_id: str, incubation_id: str | None = None
) -> list[dict[str, Any]]:
    scope = read_scope(caller, "read support")
    async with runtime.pool.acquire() as conn:
        await check_base(conn, scope, base_id, "read support")
        return await readmodel.find_services(conn, base_id=base_id, incubation_id=incubation_id)
