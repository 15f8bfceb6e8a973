"""The registry HTTP API: commands (actor, occurrence time, idempotency key) and queries."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from socialwork_contracts import reference

from servicekit.auth import Principal, require_role
from servicekit.commands import CommandContext, execute
from servicekit.http import IdempotencyKey, IfMatch, Problem
from servicekit.runtime import Runtime
from services.registry import readmodel
from services.registry.authz import READERS, authorize
from services.registry.domain import commands as cmd
from services.registry.domain.agency import Agency, evolve
from services.registry.domain.decide import decide
from services.registry.domain.errors import DomainRejected, InvalidTransition
from services.registry.domain.events import as_registry_event

# A backdated fact is fine (historical records); one dated in the future is a typo.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

_NOT_FOUND = {"agency_not_found"}
_CONFLICTS_409 = {"duplicate_uscc"}


class _Timed(BaseModel):
    occurred_at: dt.datetime | None = Field(
        default=None,
        description="When the fact happened (RFC 3339 with offset). Omit for now; set it to "
        "enter a historical record. Stored apart from the time it is recorded.",
    )


class RegisterAgencyRequest(cmd.RegisterAgency, _Timed):
    """登记社工机构 Register an agency."""


class AmendAgencyProfileRequest(cmd.AmendAgencyProfile, _Timed):
    """变更登记 Amend registered particulars."""


class ChangeAgencyStaffRequest(cmd.ChangeAgencyStaff, _Timed):
    """人员变更 Record new staff counts."""


class SuspendAgencyRequest(cmd.SuspendAgency, _Timed):
    """限期停止活动 Suspend an agency."""


class ReinstateAgencyRequest(cmd.ReinstateAgency, _Timed):
    """恢复活动 Reinstate a suspended agency."""


class DeregisterAgencyRequest(cmd.DeregisterAgency, _Timed):
    """注销登记 Deregister an agency."""


class RevokeAgencyRegistrationRequest(cmd.RevokeAgencyRegistration, _Timed):
    """撤销登记 Revoke an agency's registration."""


class RecordedEventOut(BaseModel):
    event_id: str
    type: str = Field(description="`<Name>.v<N>`")
    position: int
    stream_version: int


class CommandAccepted(BaseModel):
    uscc: str
    stream_version: int = Field(description="The agency stream's version after the command")
    events: list[RecordedEventOut]
    duplicate: bool = Field(description="True when this was a retry answered from the first result")


def build_router(runtime_of: Callable[[Request], Runtime], principal: Any) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    async def run(
        request: Request,
        response: Response,
        caller: Principal,
        body: _Timed,
        command_type: type[BaseModel],
        idempotency_key: str | None,
        if_match: int | None,
    ) -> CommandAccepted:
        runtime = runtime_of(request)
        now = dt.datetime.now(dt.UTC)
        occurred_at = body.occurred_at or now
        if occurred_at.tzinfo is None:
            raise Problem(
                422,
                "naive_time",
                "时间缺少时区 (time without offset)",
                "occurred_at must carry a UTC offset, e.g. 2020-07-05T09:00:00+08:00",
            )
        if occurred_at > now + FUTURE_TOLERANCE:
            raise Problem(
                422,
                "future_time",
                "发生时间不能晚于当前时间 (occurred in the future)",
                f"occurred_at {occurred_at.isoformat()} is in the future",
            )
        command: Any = command_type.model_validate(body.model_dump(exclude={"occurred_at"}))
        context = CommandContext(
            principal=caller,
            correlation_id=request.state.correlation_id,
            occurred_at=occurred_at,
            command_id=idempotency_key,
        )
        try:
            outcome = await execute(
                runtime.store,
                stream_id=command.uscc,
                command=command,
                context=context,
                evolve=lambda s, e: evolve(s, as_registry_event(e)),
                decide=decide,
                authorize=lambda state: authorize(caller, state, command),
                expected_version=if_match,
                inline=readmodel.upsert_agency,
            )
        except DomainRejected as exc:
            raise Problem(
                422,
                "registration_rules_violated",
                "不符合登记规则 (registration rules violated)",
                "; ".join(v.message_en for v in exc.violations),
                errors=[
                    {
                        "code": v.code,
                        "field": v.field,
                        "message": v.message_zh,
                        "message_en": v.message_en,
                    }
                    for v in exc.violations
                ],
            ) from exc
        except InvalidTransition as exc:
            status = 404 if exc.code in _NOT_FOUND else 409
            raise Problem(status, exc.code, exc.message_zh, exc.message_en) from exc
        result = outcome.result
        response.headers["ETag"] = str(result.stream_version)
        response.status_code = 200 if result.duplicate else 201
        return CommandAccepted(
            uscc=command.uscc,
            stream_version=result.stream_version,
            duplicate=result.duplicate,
            events=[
                RecordedEventOut(
                    event_id=str(e.event_id),
                    type=f"{e.event_type}.v{e.event_version}",
                    position=e.position,
                    stream_version=e.stream_version,
                )
                for e in result.events
            ],
        )

    def command_route(
        path: str, command_type: type[BaseModel], body_type: type[_Timed], summary: str
    ) -> None:
        async def endpoint(
            request: Request,
            response: Response,
            caller: Caller,
            body: Any,
            idempotency_key: IdempotencyKey = None,
            if_match: IfMatch = None,
        ) -> CommandAccepted:
            return await run(
                request, response, caller, body, command_type, idempotency_key, if_match
            )

        endpoint.__annotations__["body"] = body_type
        router.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            summary=summary,
            status_code=201,
            response_model=CommandAccepted,
            tags=["commands"],
            responses={400: {}, 401: {}, 403: {}, 404: {}, 409: {}, 422: {}},
        )

    command_route(
        "/commands/register-agency",
        cmd.RegisterAgency,
        RegisterAgencyRequest,
        "登记社工机构 Register",
    )
    command_route(
        "/commands/amend-agency-profile",
        cmd.AmendAgencyProfile,
        AmendAgencyProfileRequest,
        "变更登记 Amend",
    )
    command_route(
        "/commands/change-agency-staff",
        cmd.ChangeAgencyStaff,
        ChangeAgencyStaffRequest,
        "人员变更 Staff",
    )
    command_route(
        "/commands/suspend-agency", cmd.SuspendAgency, SuspendAgencyRequest, "限期停止活动 Suspend"
    )
    command_route(
        "/commands/reinstate-agency",
        cmd.ReinstateAgency,
        ReinstateAgencyRequest,
        "恢复活动 Reinstate",
    )
    command_route(
        "/commands/deregister-agency",
        cmd.DeregisterAgency,
        DeregisterAgencyRequest,
        "注销登记 Deregister",
    )
    command_route(
        "/commands/revoke-agency-registration",
        cmd.RevokeAgencyRegistration,
        RevokeAgencyRegistrationRequest,
        "撤销登记 Revoke",
    )

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
            state = evolve(state, as_registry_event(e.load()))
        return {
            "uscc": uscc,
            "state": state,
            "events": [
                {
                    "event_id": str(e.event_id),
                    "type": f"{e.event_type}.v{e.event_version}",
                    "stream_version": e.stream_version,
                    "position": e.position,
                    "occurred_at": e.occurred_at,
                    "recorded_at": e.recorded_at,
                    "actor": e.actor,
                    "actor_role": e.actor_role,
                    "correlation_id": e.correlation_id,
                    "causation_id": e.causation_id,
                    "data": e.data,
                }
                for e in events
            ],
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
