"""The incubation HTTP API: commands (actor, occurrence time, idempotency key) and queries.

Commands go through servicekit.command_api with `handlers.COMMANDS`: each loads the facts a
decision needs (other streams, the read model) under advisory locks in the command's
transaction, before the append.
"""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from socialwork_contracts.periods import local_date

from servicekit.auth import Principal, Role, require_role
from servicekit.command_api import (
    CommandRoute,
    command_router,
)
from servicekit.db import Connection
from servicekit.http import Problem
from servicekit.runtime import Runtime
from services.incubation import readmodel
from services.incubation.authz import READERS, ReadScope, read_scope, require_readable
from services.incubation.checks import FutureCheckDate, scheduled_check
from services.incubation.domain import commands as cmd
from services.incubation.domain.criteria import all_versions
from services.incubation.domain.rules import hardware_standard
from services.incubation.handlers import COMMANDS, load_base

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
    CommandRoute(
        "evaluate-base", cmd.EvaluateBase, "基地运行评估 Evaluate the base's operation (§6.3)"
    ),
    CommandRoute("submit-application", cmd.SubmitApplication, "入孵申请 Submit an application"),
    CommandRoute("review-application", cmd.ReviewApplication, "审核 Record a review stage"),
    CommandRoute("open-public-notice", cmd.OpenPublicNotice, "入孵公示 Open the public notice"),
    CommandRoute(
        "record-admission-objection",
        cmd.RecordAdmissionObjection,
        "公示期异议 Record an objection received during the notice",
    ),
    CommandRoute("approve-application", cmd.ApproveApplication, "准予入孵 Approve"),
    CommandRoute("reject-application", cmd.RejectApplication, "不予入孵 Reject"),
    CommandRoute("sign-agreement", cmd.SignAgreement, "签订入孵协议 Sign the agreement"),
    CommandRoute("start-incubation", cmd.StartIncubation, "入驻 Move in"),
    CommandRoute("extend-incubation", cmd.ExtendIncubation, "续驻 Extend"),
    CommandRoute("record-support", cmd.RecordSupport, "扶持记录 Record support"),
    CommandRoute("graduate-agency", cmd.GraduateAgency, "出壳 Graduate"),
    CommandRoute("terminate-incubation", cmd.TerminateIncubation, "退驻 Terminate"),
    CommandRoute("record-base-staff", cmd.RecordBaseStaff, "专职人员 Record the base's staff"),
    CommandRoute(
        "record-base-funding", cmd.RecordBaseFunding, "基地经费 Record the base's funding by source"
    ),
    CommandRoute(
        "record-professional-services",
        cmd.RecordProfessionalServices,
        "提供专业服务 Record a resident's professional services over a period",
    ),
    CommandRoute(
        "record-group-in-preparation",
        cmd.RecordGroupInPreparation,
        "注册协助 Take on a group in preparation (no credit code yet)",
    ),
)


class RunChecks(BaseModel):
    as_of: dt.date | None = Field(
        default=None,
        description="Local date to check as of, not after today (Asia/Shanghai); omit for today",
    )


def _not_found(what: str, key: str) -> Problem:
    return Problem(404, f"{what}_not_found", f"未找到 {key}", f"no {what} {key}")


async def _check_base(conn: Connection, scope: ReadScope, base_id: str, action: str) -> None:
    """403 for a base outside the reader's scope (an unknown base is left to the query)."""
    if scope.base is None and scope.unit is None:
        return
    unit = await readmodel.base_unit(conn, base_id) if scope.unit is not None else None
    require_readable(scope, base_id, unit, action)


def build_router(runtime_of: Callable[[Request], Runtime], principal: Any) -> APIRouter:
    router = command_router(COMMANDS, ROUTES, runtime_of=runtime_of, principal=principal)
    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.get("/bases", tags=["queries"], summary="孵化基地 List bases")
    async def list_bases(
        request: Request, caller: Caller, reporting_unit: str | None = None
    ) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read bases")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.list_bases(
                conn, reporting_unit, in_unit=scope.unit, at_base=scope.base
            )

    @router.get("/bases/{base_id}", tags=["queries"], summary="基地详情 One base, with standard")
    async def get_base(
        request: Request, response: Response, caller: Caller, base_id: str
    ) -> dict[str, Any]:
        scope = read_scope(caller, "read bases")
        runtime = runtime_of(request)
        async with runtime.pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read bases")
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
        scope = read_scope(caller, "read bases")
        runtime = runtime_of(request)
        async with runtime.pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read bases")
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
        scope = read_scope(caller, "read bases")
        async with runtime_of(request).pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read bases")
            row = await readmodel.get_base(conn, base_id)
        if row is None:
            raise _not_found("base", base_id)
        result: list[dict[str, Any]] = row["calls"]
        return result

    @router.get("/bases/{base_id}/residents", tags=["queries"], summary="在孵机构 Residents")
    async def residents(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read incubations")
            return await readmodel.find_incubations(conn, base_id=base_id, statuses=["incubating"])

    @router.get("/bases/{base_id}/trainings", tags=["queries"], summary="培训 Training sessions")
    async def trainings(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read bases")
        async with runtime_of(request).pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read bases")
            return await readmodel.find_trainings(conn, base_id)

    @router.get(
        "/bases/{base_id}/evaluations", tags=["queries"], summary="基地运行评估 Evaluations"
    )
    async def evaluations(request: Request, caller: Caller, base_id: str) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read bases")
        runtime = runtime_of(request)
        async with runtime.pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read bases")
            recorded = await runtime.store.read_stream(base_id, conn=conn)
        if not recorded:
            raise _not_found("base", base_id)
        return [r.data for r in recorded if r.event_type == "BaseEvaluated"]

    @router.get("/applications", tags=["queries"], summary="入孵申请 Applications")
    async def applications(
        request: Request,
        caller: Caller,
        base_id: str | None = None,
        call_id: str | None = None,
        uscc: str | None = None,
        status: Annotated[list[str] | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_incubations(
                conn,
                base_id=base_id,
                call_id=call_id,
                uscc=uscc,
                statuses=status,
                in_unit=scope.unit,
                at_base=scope.base,
            )

    @router.get("/agreements", tags=["queries"], summary="入孵协议 Agreements")
    async def agreements(
        request: Request, caller: Caller, base_id: str | None = None, uscc: str | None = None
    ) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_incubations(
                conn,
                base_id=base_id,
                uscc=uscc,
                with_agreement=True,
                in_unit=scope.unit,
                at_base=scope.base,
            )

    @router.get("/incubations/{incubation_id}", tags=["queries"], summary="入孵详情 One")
    async def incubation(
        request: Request, response: Response, caller: Caller, incubation_id: str
    ) -> dict[str, Any]:
        scope = read_scope(caller, "read incubations")
        async with runtime_of(request).pool.acquire() as conn:
            row = await readmodel.get_incubation(conn, incubation_id)
            if row is None:
                raise _not_found("incubation", incubation_id)
            await _check_base(conn, scope, row["base_id"], "read incubations")
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
        scope = read_scope(caller, "read support")
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_support(
                conn,
                base_id=base_id,
                incubation_id=incubation_id,
                uscc=uscc,
                in_unit=scope.unit,
                at_base=scope.base,
            )

    @router.get("/services", tags=["queries"], summary="提供专业服务 Services delivered")
    async def services(
        request: Request, caller: Caller, base_id: str, incubation_id: str | None = None
    ) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read support")
        async with runtime_of(request).pool.acquire() as conn:
            await _check_base(conn, scope, base_id, "read support")
            return await readmodel.find_services(conn, base_id=base_id, incubation_id=incubation_id)

    @router.get("/agencies/{uscc}", tags=["queries"], summary="机构（本服务所知） Agency facts")
    async def agency(request: Request, caller: Caller, uscc: str) -> dict[str, Any]:
        require_role(caller, READERS, "read agencies")
        async with runtime_of(request).pool.acquire() as conn:
            found = await readmodel.local_agency(conn, uscc)
        if found is None:
            raise _not_found("agency", uscc)
        return found

    @router.post(
        "/commands/run-scheduled-checks",
        tags=["commands"],
        summary="到期检查 Run the scheduled check now (city admin): groups not registered in "
        "time, stays past their term, stays without activity",
    )
    async def run_scheduled_checks(request: Request, caller: Caller, body: RunChecks) -> Any:
        require_role(caller, frozenset({Role.CITY_ADMIN}), "run the scheduled check")
        now = dt.datetime.now(dt.UTC)
        try:
            report = await scheduled_check(runtime_of(request), body.as_of or local_date(now), now)
        except FutureCheckDate as exc:
            raise Problem(
                422, "future_date", "检查日期不能晚于今天 (date after today)", str(exc)
            ) from exc
        return asdict(report)

    @router.get("/groups", tags=["queries"], summary="注册协助 Groups in preparation")
    async def groups(
        request: Request,
        caller: Caller,
        base_id: str | None = None,
        status: Annotated[str | None, Query(pattern="^(preparing|registered)$")] = None,
    ) -> list[dict[str, Any]]:
        scope = read_scope(caller, "read groups")
        if scope.base is not None and base_id not in (None, scope.base):
            return []  # an out-of-scope filter gives an empty list, as elsewhere
        async with runtime_of(request).pool.acquire() as conn:
            return await readmodel.find_groups(
                conn, base_id=scope.base or base_id, unit=scope.unit, status=status
            )

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
