"""The registry HTTP API: commands (actor, occurrence time, idempotency key) and queries."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from socialwork_contracts import reference

from servicekit.auth import Principal, require_role
from servicekit.command_api import CommandRoute, command_router
from servicekit.history import audit_entry
from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.registry import readmodel
from services.registry.authz import READERS
from services.registry.domain import commands as cmd
from services.registry.domain.agency import Agency
from services.registry.handlers import COMMANDS, evolve_agency

ROUTES = (
    CommandRoute("register-agency", cmd.RegisterAgency, "登记社工机构 Register an agency"),
    CommandRoute("amend-agency-profile", cmd.AmendAgencyProfile, "变更登记 Amend particulars"),
    CommandRoute("change-agency-staff", cmd.ChangeAgencyStaff, "人员变更 Change staff counts"),
    CommandRoute("suspend-agency", cmd.SuspendAgency, "限期停止活动 Suspend"),
    CommandRoute("reinstate-agency", cmd.ReinstateAgency, "恢复活动 Reinstate"),
    CommandRoute("deregister-agency", cmd.DeregisterAgency, "注销登记 Deregister"),
    CommandRoute(
        "revoke-agency-registration", cmd.RevokeAgencyRegistration, "撤销登记 Revoke registration"
    ),
)


def build_router(runtime_of: Callable[[Request], Runtime], principal: Any) -> APIRouter:
    router = command_router(COMMANDS, ROUTES, runtime_of=runtime_of, principal=principal)
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.get("/agencies", tags=["queries"], summary="查询机构 List agencies")
    async def list_agencies(
        request: Request,
        caller: Caller,
        reporting_unit: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        service_field: str | None = None,
        target_group: str | None = None,
        priority: bool | None = None,
        name_contains: Annotated[str | None, Query(max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        require_role(caller, READERS, "read agencies")
        async with runtime_of(request).pool.acquire() as conn:
            total, items = await readmodel.find_agencies(
                conn,
                reporting_unit=reporting_unit,
                kind=kind,
                status=status,
                service_field=service_field,
                target_group=target_group,
                priority=priority,
                name_contains=name_contains,
                limit=limit,
                offset=offset,
            )
        return {"total": total, "limit": limit, "offset": offset, "items": items}

    @router.get("/agencies/{uscc}", tags=["queries"], summary="机构详情 One agency")
    async def get_agency(
        request: Request, response: Response, caller: Caller, uscc: str
    ) -> dict[str, Any]:
        require_role(caller, READERS, "read agencies")
        async with runtime_of(request).pool.acquire() as conn:
            agency = await readmodel.get_agency(conn, uscc)
        if agency is None:
            raise Problem(
                404,
                "agency_not_found",
                "机构不存在 (agency not found)",
                f"no agency with credit code {uscc}",
            )
        response.headers["ETag"] = str(agency["version"])
        return agency

    @router.get("/agencies/{uscc}/history", tags=["queries"], summary="机构事件历史 History")
    async def agency_history(
        request: Request, caller: Caller, uscc: str, recorded_until: dt.datetime | None = None
    ) -> dict[str, Any]:
        require_role(caller, READERS, "read agencies")
        events = await runtime_of(request).store.read_stream(uscc, recorded_until=recorded_until)
        if not events:
            raise Problem(
                404,
                "agency_not_found",
                "机构不存在 (agency not found)",
                f"no agency with credit code {uscc}",
            )
        state: Agency | None = None
        for e in events:
            state = evolve_agency(state, e.load())
        return {
            "uscc": uscc,
            "state": state,
            "events": [audit_entry(e) for e in events],
        }

    @router.get("/reference/localities", tags=["reference"], summary="统计单位 Reporting units")
    async def localities() -> list[reference.Locality]:
        return list(reference.localities())

    @router.get("/reference/service-fields", tags=["reference"], summary="服务领域")
    async def service_fields() -> list[reference.Classification]:
        return list(reference.service_fields())

    @router.get("/reference/target-groups", tags=["reference"], summary="服务对象")
    async def target_groups() -> list[reference.Classification]:
        return list(reference.target_groups())

    return router
