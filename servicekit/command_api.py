"""HTTP command endpoints, the same in every service.

A service names the routes of the commands its `handlers.COMMANDS` declares; each becomes
`POST /commands/<name>` whose body is the command plus an optional `occurred_at`, with
`Idempotency-Key` and `If-Match` headers, run by `servicekit.command_table.run_command`
(`CommandRun`, in a group commit).
Refusals become problems: rules broken 422, wrong state 409 (404 for `*_not_found`), stale
version 409, scope 403.
An `Idempotency-Key` is stored scoped by caller and route (`client_command_id`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import pydantic_core
import structlog
from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError, create_model
from socialwork_contracts.periods import LOCAL_TIME_ZONE
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from servicekit.auth import Forbidden, Principal
from servicekit.command_table import CommandRun, CommandTable, handler_of
from servicekit.commands import CommandContext, Outcome, client_command_id
from servicekit.decisions import DomainRejected, InvalidTransition
from servicekit.dependencies import Caller, authenticate, correlation_of, runtime_of
from servicekit.eventstore import AppendResult, ConcurrencyConflict
from servicekit.http import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    STREAM_VERSION_MAX,
    IdempotencyKey,
    IfMatch,
    Problem,
    note_direct_route,
    replay_body,
)
from servicekit.metrics import commands_counted
from servicekit.runtime import Runtime

log = structlog.get_logger()

# A backdated fact is fine (historical records); one dated in the future is a typo.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# Issue 10 item 5: the earliest occurrence time a command may state (docs/operations.md). The
# records of private social-work agencies begin well after it, so an earlier time is a typo or
# an attack, not history: 0001-01-01T00:00:00Z, for one, is stored by asyncpg as -infinity and
# read back without an offset, which neither the envelope schema nor any consumer accepts.
OCCURRENCE_FLOOR = dt.datetime(1990, 1, 1, tzinfo=LOCAL_TIME_ZONE)


class Timed(BaseModel):
    occurred_at: dt.datetime | None = Field(
        default=None,
        description="When the fact happened (RFC 3339 with offset). Omit for now; set it to "
        "enter a historical record. Stored apart from the time it is recorded.",
    )


class RecordedEventOut(BaseModel):
    event_id: str
    type: str = Field(description="`<Name>.v<N>`")
    position: int
    stream_version: int


class CommandAccepted(BaseModel):
    stream_id: str = Field(description="The aggregate the command acted on")
    stream_version: int = Field(description="The stream's version after the command (ETag)")
    events: list[RecordedEventOut]
    duplicate: bool = Field(description="True when a retry was answered from the first result")


@dataclass(frozen=True)
class CommandRoute:
    name: str  # path segment, e.g. "register-agency"
    command: type[BaseModel]
    summary: str


def occurrence_time(requested: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The stated occurrence time (default now), or a 422 unless it is from the floor to now."""
    if requested is None:
        return now
    if requested.tzinfo is None:
        raise Problem(
            422,
            "naive_time",
            "时间缺少时区 (time without offset)",
            "occurred_at must carry a UTC offset, e.g. 2020-07-05T09:00:00+08:00",
        )
    try:
        requested.astimezone(dt.UTC)
    except OverflowError as exc:
        raise _out_of_range(requested) from exc
    if requested < OCCURRENCE_FLOOR:
        raise _out_of_range(requested)
    if requested > now + FUTURE_TOLERANCE:
        raise Problem(
            422,
            "future_time",
            "发生时间不能晚于当前时间 (occurred in the future)",
            f"occurred_at {requested.isoformat()} is in the future",
        )
    return requested


def _out_of_range(requested: dt.datetime) -> Problem:
    return Problem(
        422,
        "time_out_of_range",
        "发生时间超出范围 (time out of range)",
        f"occurred_at {requested.isoformat()} is outside the accepted range, from "
        f"{OCCURRENCE_FLOOR.isoformat()} until now",
        earliest=OCCURRENCE_FLOOR.isoformat(),
    )


def unstorable_text(value: Any, location: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Where a command carries text the store cannot hold: NUL (refused by PostgreSQL) or a lone
    surrogate (valid as a JSON escape, not encodable as UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [
                {"location": ["body", *location], "message": "lone surrogate (\\ud800-\\udfff)"}
            ]
        if "\x00" in value:
            return [{"location": ["body", *location], "message": "NUL character (\\u0000)"}]
        return []
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in unstorable_text(v, (*location, str(k)))]
    if isinstance(value, list | tuple | set | frozenset):
        return [e for i, v in enumerate(value) for e in unstorable_text(v, (*location, i))]
    return []


def _plainly_storable(body: BaseModel) -> bool:
    """True when pydantic-core's JSON of the body (native code: the walk below in Python was 5%
    of a command's CPU, issue 12) shows neither a NUL nor a lone surrogate; when in doubt the
    walk decides, and says where."""
    try:
        text = pydantic_core.to_json(body)
    except pydantic_core.PydanticSerializationError:  # a lone surrogate, or a value it cannot
        return False
    return b"\\u0000" not in text


def _escapes_nothing_unstorable(raw: bytes) -> bool:
    """True when a JSON body's bytes escape neither a NUL nor a surrogate: the only ways its
    text can hold one (JSON refuses raw control characters, UTF-8 raw surrogates), so nothing
    needs looking for (issue 12: a scan in C instead of a serialisation of the body)."""
    return b"\\u0000" not in raw and b"\\ud" not in raw and b"\\uD" not in raw


def refuse_unstorable_text(body: BaseModel, raw: bytes | None = None) -> None:
    """422 when the command's text cannot be stored; `raw`: the JSON body it was read from."""
    if (raw is not None and _escapes_nothing_unstorable(raw)) or _plainly_storable(body):
        return
    errors = unstorable_text(body.model_dump())
    if errors:
        raise Problem(
            422,
            "invalid_characters",
            "含有无法保存的字符 (characters that cannot be stored)",
            "Text fields must not contain NUL characters or lone UTF-16 surrogates.",
            errors=errors,
        )


INVARIANT_CONFLICT = Problem(
    409,
    "invariant_conflict",
    "与同时提交的操作冲突，未保存任何内容 (conflict with a concurrent command)",
    "a concurrent command took what this one needed; nothing was stored — retry",
)


def domain_problem(exc: DomainRejected | InvalidTransition) -> Problem:
    if isinstance(exc, DomainRejected):
        return Problem(
            422,
            "rules_violated",
            "不符合业务规则 (rules violated)",
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
        )
    status = 404 if exc.code.endswith("_not_found") else 409
    return Problem(status, exc.code, exc.message_zh, exc.message_en)


def command_router(
    commands: CommandTable, routes: Sequence[CommandRoute], *, tag: str = "commands"
) -> APIRouter:
    """`POST /commands/<name>` for each route; a route for an undeclared command is refused."""
    router = APIRouter()
    for route in routes:
        handler_of(commands, route.command)  # UndeclaredCommand at import
        _add(router, commands, route, tag)
    return router


def command_of(
    route: CommandRoute,
    body: Timed,
    caller: Principal,
    correlation: str,
    idempotency_key: str | None,
    raw: bytes | None = None,
) -> tuple[BaseModel, CommandContext]:
    """The command and its context from a request (`raw`: the JSON it was read from, when
    pydantic-core read it): its time checked, its text storable."""
    occurred_at = occurrence_time(body.occurred_at, dt.datetime.now(dt.UTC))
    refuse_unstorable_text(body, raw)
    command = command_from(route.command, body)
    context = CommandContext(
        principal=caller,
        correlation_id=correlation,
        occurred_at=occurred_at,
        command_id=client_command_id(caller.subject, route.name, idempotency_key),
        occurred_at_stated=body.occurred_at is not None,
    )
    return command, context


def command_from(kind: type[BaseModel], body: Timed) -> BaseModel:
    """The command of a request body, not validated again: the request model is the command's
    fields, validators and config plus occurred_at. Built as `model_construct` builds a model
    given every field (a test holds them equal), without its Python loop over the fields: that
    was 4% of the registry's busy loop under load (issue 12)."""
    values = body.__dict__.copy()
    del values["occurred_at"]
    command = kind.__new__(kind)
    object.__setattr__(command, "__dict__", values)
    object.__setattr__(command, "__pydantic_fields_set__", set(values))
    object.__setattr__(command, "__pydantic_extra__", None)
    object.__setattr__(command, "__pydantic_private__", None)
    return command


async def run_request(
    commands: CommandTable,
    runtime: Runtime,
    command: BaseModel,
    context: CommandContext,
    if_match: int | None,
) -> AppendResult:
    """Run one command in a group commit; refusals become problems, each outcome a metric."""
    name = type(command).__name__
    try:
        # Facts read, decision and append in one group commit: they see one state, and
        # concurrent commands share the commit and, when they can, the statements.
        outcome: Outcome = await runtime.commits.run(
            CommandRun(commands, runtime.store, command, context, if_match)
        )
    except (DomainRejected, InvalidTransition) as exc:
        commands_counted(name, "refused").inc()
        log.info("command.refused", command=name, reason=str(exc))
        raise domain_problem(exc) from exc
    except ConcurrencyConflict:
        commands_counted(name, "conflict").inc()
        raise
    except asyncpg.UniqueViolationError as exc:
        # A unique index guarding an invariant across aggregates caught a concurrent
        # command that the decision could not see; nothing was stored.
        commands_counted(name, "conflict").inc()
        log.warning("command.invariant_conflict", command=name, constraint=exc.constraint_name)
        raise INVARIANT_CONFLICT from exc
    except Forbidden:
        commands_counted(name, "forbidden").inc()
        raise
    result = outcome.result
    commands_counted(name, "duplicate" if result.duplicate else "accepted").inc()
    log.info(
        "command.accepted",
        command=name,
        stream_id=result.stream_id,
        version=result.stream_version,
        duplicate=result.duplicate,
    )
    return result


class _Answer(Response):
    """A JSON answer whose headers are written as bytes once: `Response.__init__` renders
    and lists them anew (issue 12). Sent as any `Response`."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int, etag: str) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"etag", etag.encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def accepted(result: AppendResult) -> Response:
    """201 with the new stream version as ETag; 200 for a retry answered from the first.

    The bytes come from pydantic-core, in `CommandAccepted`'s shape: FastAPI's validation of a
    returned model and its JSON encoder cost more than the answer itself (issue 12)."""
    answer = {
        "stream_id": result.stream_id,
        "stream_version": result.stream_version,
        "events": [
            {
                "event_id": str(e.event_id),
                "type": f"{e.event_type}.v{e.event_version}",
                "position": e.position,
                "stream_version": e.stream_version,
            }
            for e in result.events
        ],
        "duplicate": result.duplicate,
    }
    return _Answer(
        pydantic_core.to_json(answer),
        200 if result.duplicate else 201,
        str(result.stream_version),
    )


def plain_headers(headers: Headers) -> tuple[str | None, int | None] | None:
    """`Idempotency-Key` and `If-Match` when each is absent or plainly valid (a key of at most
    200 characters, a version of ASCII digits within int64), else None. The first of duplicated
    headers counts, as in FastAPI's header parameters."""
    key = headers.get("idempotency-key")
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        return None
    version = headers.get("if-match")
    if version is None:
        return key, None
    if not (version.isascii() and version.isdigit() and len(version) <= 19):
        return None
    expected = int(version)
    return (key, expected) if expected <= STREAM_VERSION_MAX else None


PlainRun = Callable[[Request, bytes], Awaitable[Response | None]]


def _route_class(plain: PlainRun) -> type[APIRoute]:
    """A command's route: `plain` answers a plainly well-formed POST; FastAPI's declared
    handler (its parameters solved and validated) answers any other, with its exact refusals.

    Issue 12: FastAPI's dependency and parameter solving was a sixth of the registry's busy
    loop under load, its request wrapper (exit stacks, exception scope) more. The declared
    parameters stay what the OpenAPI document describes. A refusal `plain` raises is answered
    by the app's exception handlers, as one raised inside the route's handler."""

    class CommandAPIRoute(APIRoute):
        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["method"] != "POST":
                await super().handle(scope, receive, send)  # 405 with Allow
                return
            note_direct_route(scope, self)  # later POSTs to this path come straight here
            request = Request(scope, receive)
            body = await request.body()
            if not await self.answer_plainly(request, body, send):
                await super().handle(scope, replay_body(body, receive), send)

        async def answer_plainly(self, request: Request, body: bytes, send: Send) -> bool:
            answer = await plain(request, body)
            if answer is None:
                return False
            await answer(request.scope, request.receive, send)
            return True

    return CommandAPIRoute


def _add(router: APIRouter, commands: CommandTable, route: CommandRoute, tag: str) -> None:
    bases: tuple[type[BaseModel], ...] = (route.command, Timed)
    created: type[BaseModel] = create_model(  # the command's fields plus occurred_at
        f"{route.command.__name__}Request",
        __base__=bases,
        __doc__=route.command.__doc__ or route.summary,
    )
    body_type = cast(type[Timed], created)

    async def run(
        request: Request,
        body: Timed,
        caller: Principal,
        idempotency_key: str | None,
        if_match: int | None,
        raw: bytes | None = None,
    ) -> Response:
        correlation = correlation_of(request)
        command, context = command_of(route, body, caller, correlation, idempotency_key, raw)
        runtime = runtime_of(request)
        return accepted(await run_request(commands, runtime, command, context, if_match))

    async def plain(request: Request, raw: bytes) -> Response | None:
        """The answer to a request FastAPI would pass unchanged, or None to let it judge one:
        JSON declared exactly, a body pydantic-core reads as the command, plain headers. The
        caller is authenticated only then, so a refusal keeps FastAPI's order (malformed JSON
        400, then 401, then 422) and a failed authentication is counted once."""
        if request.headers.get("content-type") != "application/json":
            return None
        try:
            body = body_type.model_validate_json(raw)
        except ValidationError:
            return None
        headers = plain_headers(request.headers)
        if headers is None:
            return None
        caller = await authenticate(request)
        return await run(request, body, caller, *headers, raw)

    # The runtime and the correlation id are read from the request, not declared as
    # dependencies: FastAPI solves each dependency's parameters anew on every request.
    async def endpoint(
        request: Request,
        body: Any,
        caller: Caller,
        idempotency_key: IdempotencyKey = None,
        if_match: IfMatch = None,
    ) -> Response:
        return await run(request, body, caller, idempotency_key, if_match)

    endpoint.__annotations__["body"] = body_type
    router.add_api_route(
        f"/commands/{route.name}",
        endpoint,
        methods=["POST"],
        summary=route.summary,
        name=route.command.__name__,  # the command it runs (tests/test_command_path.py)
        status_code=201,
        response_model=CommandAccepted,
        tags=[tag],  # its problem responses: servicekit/problem_docs.py
        route_class_override=_route_class(plain),
    )
