"""HTTP conventions shared by every API: RFC 9457 problem details, correlation ids, auth, health."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from servicekit.auth import Forbidden, Principal, TokenSettings, Unauthenticated, verify_token
from servicekit.eventstore import ConcurrencyConflict, IdempotencyKeyReused

log = structlog.get_logger()
PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """A refusal the client can act on; rendered as application/problem+json."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:socialwork:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "instance": request.url.path,
        **problem.extra,
    }
    if problem.errors:
        body["errors"] = problem.errors
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        {"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(
            400,
            "malformed_json",
            "请求体不是合法的 JSON (malformed JSON)",
            "The request body could not be parsed as JSON.",
            errors=errors,
        )
    return Problem(
        422,
        "invalid_request",
        "请求内容不符合要求 (invalid request)",
        "One or more fields are missing or have the wrong type.",
        errors=errors,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error a client can cause to a 4xx problem; anything else to a logged 500."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_validation_problem(exc), request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(
            Problem(exc.status_code, code, str(exc.detail), str(exc.detail)), request
        )

    async def on_unauthenticated(request: Request, exc: Exception) -> Response:
        return problem_response(
            Problem(401, "unauthenticated", "未认证 (authentication required)", str(exc)), request
        )

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        return problem_response(
            Problem(403, "forbidden", "无权执行此操作 (forbidden)", str(exc)), request
        )

    async def on_conflict(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConcurrencyConflict)
        problem = Problem(
            409,
            "concurrency_conflict",
            "数据已被他人修改 (version conflict)",
            str(exc),
            expected_version=exc.expected,
            actual_version=exc.actual,
        )
        return problem_response(problem, request)

    async def on_key_reused(request: Request, exc: Exception) -> Response:
        return problem_response(
            Problem(
                422,
                "idempotency_key_reused",
                "幂等键已用于其他命令 (idempotency key reused)",
                str(exc),
            ),
            request,
        )

    async def on_bad_value(request: Request, exc: Exception) -> Response:
        # A value the database (class 22 "data exception": a NUL character, a number or a time
        # outside its range) or Python's date arithmetic cannot hold. Only client input reaches
        # these, and the transaction is rolled back, so nothing is stored.
        log.warning("http.value_out_of_range", path=request.url.path, error=str(exc))
        return problem_response(
            Problem(
                422,
                "invalid_value",
                "取值超出范围或含有非法字符 (value out of range)",
                "A value is outside the range that can be stored (a number or date too large "
                "or too small) or contains a character that cannot be stored (NUL).",
            ),
            request,
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("http.unexpected_error", path=request.url.path)
        return problem_response(
            Problem(
                500,
                "internal_error",
                "服务器内部错误 (internal error)",
                "An unexpected error occurred.",
            ),
            request,
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Unauthenticated, on_unauthenticated)
    app.add_exception_handler(Forbidden, on_forbidden)
    app.add_exception_handler(ConcurrencyConflict, on_conflict)
    app.add_exception_handler(IdempotencyKeyReused, on_key_reused)
    app.add_exception_handler(asyncpg.DataError, on_bad_value)
    app.add_exception_handler(OverflowError, on_bad_value)
    app.add_exception_handler(Exception, on_unexpected)


def install_correlation(app: FastAPI) -> None:
    """Every request gets a correlation id (the caller's X-Correlation-ID, or a new one)."""

    @app.middleware("http")
    async def correlate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        with structlog.contextvars.bound_contextvars(correlation_id=correlation_id):
            response = await call_next(request)
        response.headers["X-Correlation-ID"] = correlation_id
        return response


_bearer = HTTPBearer(auto_error=False, description="JWT from `python -m servicekit.auth issue`")


def principal_dependency(
    settings: Callable[[], TokenSettings],
) -> Callable[..., Principal]:
    """A FastAPI dependency that authenticates the caller or raises 401."""

    def current_principal(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise Unauthenticated("missing bearer token")
        return verify_token(settings(), credentials.credentials)

    return current_principal


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Client-chosen id of this command; a retry with the same key is answered "
        "with the original result and stores nothing new",
    ),
]
IfMatch = Annotated[
    int | None,
    Header(
        alias="If-Match",
        ge=0,
        le=2**63 - 1,
        description="The stream version the client last saw; a different current version is a 409",
    ),
]
