"""The incubation HTTP API: commands (actor, occurrence time, idempotency key) and queries.

Commands are `POST /commands/<name>` exactly as in servicekit.command_api, but each runs through
`handlers.handle`, which loads the facts a decision needs (other streams, the read model) under
advisory locks in the same transaction as the append.
"""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, create_model

from servicekit.auth import Principal, require_role
from servicekit.command_api import (
    CommandAccepted,
    CommandRoute,
    RecordedEventOut,
    Timed,
    domain_problem,
    occurrence_time,
)
from servicekit.commands import CommandContext
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.http import IdempotencyKey, IfMatch, Problem
from servicekit.runtime import Runtime
from services.incubation import readmodel
from services.incubation.authz import READERS
from services.incubation.domain import commands as cmd
from services.incubation.domain.criteria import all_versions
from services.incubation.domain.rules import hardware_standard
from services.incubation.handlers import handle, load_base

log = structlog.get_logger()

ROUTES = (
    CommandRoute("establish-base", cmd.EstablishBase, "建立孵化基地 Establish a base"),
    CommandRoute("update-facilities", cmd.UpdateFacilities, "场地设施变更 Update facilities"),
    CommandRoute(
        "adopt-admission-standard", cmd.AdoptAdmissionStandard, "入孵标准 Adopt a standard"
    ),
    CommandRoute("publish-call", cmd.PublishCall, "发布申请通知 Publish a call"),
    CommandRoute("record-training", cmd.RecordTraining, "人才培训 Record a training session"),
    CommandRoute("close-base", cmd.CloseBase, "关闭基地 Close a base"),
    CommandRoute("submit-application", cmd.SubmitApplication, "入孵申请 Submit an application"),
    CommandRoute("review-application", cmd.ReviewApplication, "审核 Record a review stage"),
    CommandRoute("approve-application", cmd.ApproveApplication, "准予入孵 Approve"),
    CommandRoute("reject-application", cmd.RejectApplication, "不予入孵 Reject"),
    CommandRoute("sign-agreement", cmd.SignAgreement, "签订入孵协议 Sign the agreement"),
    CommandRoute("start-incubation", cmd.StartIncubation, "入驻 Move in"),
    CommandRoute("extend-incubation", cmd.ExtendIncubation, "续驻 Extend"),
    CommandRoute("record-support", cmd.RecordSupport, "扶持记录 Record support"),
    CommandRoute("graduate-agency", cmd.GraduateAgency, "出壳 Graduate"),
    CommandRoute("terminate-incubation", cmd.TerminateIncubation, "退驻 Terminate"),
)

INVARIANT_CONFLICT = Problem(
    409,
    "invariant_conflict",
    "与同时提交的操作冲突：一家机构同一时间只能入孵一处，一间办公室只能分配给一家机构",
    "a concurrent command took the same place or office; nothing was stored",
)


def _command_routes(
    runtime_of: Callable[[Request], Runtime], principal: Callable[..., Principal]
) -> APIRouter:
    router = APIRouter()

    async def run(
        request: Request,
        response: Response,
        caller: Principal,
        body: Timed,
        command_type: type[BaseModel],
        idempotency_key: str | None,
        if_match: int | None,
    ) -> CommandAccepted:
        occurred_at = occurrence_time(body.occurred_at, dt.datetime.now(dt.UTC))
        command: Any = command_type.model_validate(body.model_dump(exclude={"occurred_at"}))
        context = CommandContext(
            principal=caller,
            correlation_id=request.state.correlation_id,
            occurred_at=occurred_at,
            command_id=idempotency_key,
        )
        runtime = runtime_of(request)
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                outcome = await handle(
                    runtime.store, conn, command, context, expected_version=if_match
                )
        except (DomainRejected, InvalidTransition) as exc:
            log.info("command.refused", command=command_type.__name__, reason=str(exc))
            raise domain_problem(exc) from exc
        except asyncpg.UniqueViolationError as exc:
            log.warning("command.invariant_conflict", command=command_type.__name__)
            raise INVARIANT_CONFLICT from exc
        result = outcome.result
        log.info("command.accepted", command=command_type.__name__, duplicate=result.duplicate)
        response.headers["ETag"] = str(result.stream_version)
        response.status_code = 200 if result.duplicate else 201
        return CommandAccepted(
            stream_id=result.stream_id,
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

    for route in ROUTES:
        _add(router, route, run, principal)
    return router


def _add(
    router: APIRouter, route: CommandRoute, run: Any, principal: Callable[..., Principal]
) -> None:
    body_type: type[BaseModel] = create_model(
        f"{route.command.__name__}Request",
        __base__=(route.command, Timed),
        __doc__=route.command.__doc__ or route.summary,
    )
    command_type = route.command

    async def endpoint(
        request: Request,
        response: Response,
        body: Any,
        caller: Principal = Depends(principal),  # noqa: B008 - FastAPI's dependency idiom
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> CommandAccepted:
        accepted: CommandAccepted = await run(
            request, response, caller, body, command_type, idempotency_key, if_match
        )
        return accepted

    endpoint.__annotations__["body"] = body_type
    router.add_api_route(
        f"/commands/{route.name}",
        endpoint,
        methods=["POST"],
        summary=route.summary,
        status_code=201,
        response_model=CommandAccepted,
        tags=["commands"],
        responses={400: {}, 401: {}, 403: {}, 404: {}, 409: {}, 422: {}},
    )


def _not_found(what: str, key: str) -> Problem:
    return Problem(404, f"{what}_not_found", f"未找到 {key}", f"no {what} {key}")


def build_router(runtime_of: Callable[[Request], Runtime], principal: Any) -> APIRouter:
    router = _command_routes(runtime_of, principal)
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.get("/bases", tags=["queries"], summary="孵化基地 List bases")
    async def list_bases(
        request: Request, caller: Caller, reporting_unit: str | None = None
    ) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read bases")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.list_bases(conn, reporting_unit)

    @router.get("/bases/{base_id}", tags=["queries"], summary="基地详情 One base, with standard")
    async def get_base(
        request: Request, response: Response, caller: Caller, base_id: str
    ) -> dict[str, Any]:
        require_role(caller, READERS, "read bases")
        runtime = runtime_of(request)
        async with runtime.pool.acquire() as conn:
            row = await readmodel.get_base(conn, base_id)
            state = await load_base(runtime.store, conn, base_id)
        if row is None or state is None:
            raise _not_found("base", base_id)
        shortfalls = hardware_standard(state.facilities)
        response.headers["ETag"] = str(row["version"])
        return {
            **row,
            "hardware_standard": {
                "met": not shortfalls,
                "can_admit": not shortfalls and not state.is_closed,
                "shortfalls": [
                    {"code": v.code, "message": v.message_zh, "message_en": v.message_en}
                    for v in shortfalls
                ],
            },
        }

    @router.get("/bases/{base_id}/offices", tags=["queries"], summary="办公室与占用 Occupancy")
    async def offices(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read bases")
        runtime = runtime_of(request)
        async with runtime.pool.acquire() as conn:
            state = await load_base(runtime.store, conn, base_id)
            holders = await readmodel.find_incubations(
                conn, base_id=base_id, statuses=["signed", "incubating"]
            )
        if state is None:
            raise _not_found("base", base_id)
        by_office = {h["office_id"]: h for h in holders}
        return [
            {
                "office_id": room.office_id,
                "area_m2": f"{room.area_m2:.2f}",
                "shared_room": room.shared_room,
                "occupied_by": (
                    None
                    if room.office_id not in by_office
                    else {
                        k: by_office[room.office_id][k]
                        for k in ("incubation_id", "uscc", "agency_name", "status", "term_end")
                    }
                ),
            }
            for room in state.facilities.offices
        ]

    @router.get("/bases/{base_id}/calls", tags=["queries"], summary="申请通知 Calls")
    async def calls(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read bases")
        async with runtime_of(request).pool.acquire() as conn:
            row = await readmodel.get_base(conn, base_id)
        if row is None:
            raise _not_found("base", base_id)
        result: list[dict[str, Any]] = row["calls"]
        return result

    @router.get("/bases/{base_id}/residents", tags=["queries"], summary="在孵机构 Residents")
    async def residents(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_incubations(conn, base_id=base_id, statuses=["incubating"])

    @router.get("/bases/{base_id}/trainings", tags=["queries"], summary="培训 Training sessions")
    async def trainings(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read bases")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_trainings(conn, base_id)

    @router.get("/applications", tags=["queries"], summary="入孵申请 Applications")
    async def applications(
        request: Request,
        caller: Caller,
        base_id: str | None = None,
        call_id: str | None = None,
        uscc: str | None = None,
        status: Annotated[list[str] | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_incubations(
                conn, base_id=base_id, call_id=call_id, uscc=uscc, statuses=status
            )

    @router.get("/agreements", tags=["queries"], summary="入孵协议 Agreements")
    async def agreements(
        request: Request, caller: Caller, base_id: str | None = None, uscc: str | None = None
    ) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_incubations(
                conn, base_id=base_id, uscc=uscc, with_agreement=True
            )

    @router.get("/incubations/{incubation_id}", tags=["queries"], summary="入孵详情 One")
    async def incubation(
        request: Request, response: Response, caller: Caller, incubation_id: str
    ) -> dict[str, Any]:
        require_role(caller, READERS, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            row = await readmodel.get_incubation(conn, incubation_id)
        if row is None:
            raise _not_found("incubation", incubation_id)
        response.headers["ETag"] = str(row["version"])
        return row

    @router.get("/support", tags=["queries"], summary="扶持记录 Support given")
    async def support(
        request: Request,
        caller: Caller,
        base_id: str | None = None,
        incubation_id: str | None = None,
        uscc: str | None = None,
    ) -> list[dict[str, Any]]:
        require_role(caller, READERS, "read support")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_support(
                conn, base_id=base_id, incubation_id=incubation_id, uscc=uscc
            )

    @router.get("/agencies/{uscc}", tags=["queries"], summary="机构（本服务所知） Agency facts")
    async def agency(request: Request, caller: Caller, uscc: str) -> dict[str, Any]:
        require_role(caller, READERS, "read agencies")
        async with runtime_of(request).pool.acquire() as conn:
            found = await readmodel.local_agency(conn, uscc)
        if found is None:
            raise _not_found("agency", uscc)
        return found

    @router.get("/reference/graduation-criteria", tags=["reference"], summary="出壳标准")
    async def graduation_criteria() -> list[dict[str, Any]]:
        return [
            {
                "version": v.version,
                "effective_from": v.effective_from,
                "criteria": [
                    {"id": c.id, "checked_by": c.checked_by, "zh": c.zh, "en": c.en}
                    for c in v.criteria
                ],
            }
            for v in all_versions()
        ]

    return router
