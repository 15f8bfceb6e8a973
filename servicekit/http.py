"""HTTP conventions shared by every API: RFC 9457 problem details, correlation ids, auth, health,
a bound on request bodies, database outages answered 503, and the security edge (refusals logged
and counted, failed authentication limited, security headers)."""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Protocol

import asyncpg
import structlog
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from socialwork_contracts.periods import UnknownCalendarYear
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.auth import (
    Forbidden,
    Principal,
    TokenSettings,
    Unauthenticated,
    VerifiedTokens,
)
from servicekit.eventstore import ConcurrencyConflict, IdempotencyKeyReused
from servicekit.metrics import REFUSED_REQUESTS
from servicekit.randomness import random_id

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


def problem_response(
    problem: Problem, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
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
    sent = dict(headers or {})
    if problem.status == 401:
        sent["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=sent)


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


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if exc.status in (401, 403):
        record_refusal(request, exc.status, exc.detail)
    return problem_response(exc, request)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(_validation_problem(exc), request)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_PROBLEMS.get(exc.status_code, ("http_error", str(exc.detail)))
    # The headers Starlette set, e.g. Allow on a 405 (RFC 9110 §15.5.6).
    return problem_response(
        Problem(exc.status_code, code, title, str(exc.detail)), request, exc.headers
    )


async def _on_unauthenticated(request: Request, exc: Exception) -> Response:
    record_refusal(request, 401, str(exc))
    return problem_response(
        Problem(401, "unauthenticated", "未认证 (authentication required)", str(exc)), request
    )


async def _on_forbidden(request: Request, exc: Exception) -> Response:
    record_refusal(request, 403, str(exc))
    return problem_response(
        Problem(403, "forbidden", "无权执行此操作 (forbidden)", str(exc)), request
    )


async def _on_too_many_failures(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyFailedAuthentications)
    record_refusal(request, 429, str(exc))
    problem = Problem(
        429,
        "too_many_failed_authentications",
        "认证失败次数过多，请稍后再试 (too many failed authentications)",
        f"{exc}; retry after {exc.retry_after} s",
        retry_after=exc.retry_after,
    )
    return problem_response(problem, request, {"Retry-After": str(exc.retry_after)})


async def _on_conflict(request: Request, exc: Exception) -> Response:
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


async def _on_key_reused(request: Request, exc: Exception) -> Response:
    return problem_response(
        Problem(
            422,
            "idempotency_key_reused",
            "幂等键已用于其他命令 (idempotency key reused)",
            str(exc),
        ),
        request,
    )


async def _on_bad_value(request: Request, exc: Exception) -> Response:
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


async def _on_calendar_unknown(request: Request, exc: Exception) -> Response:
    # A deadline in a year the pinned working calendar lacks is never guessed (issue 11 §4):
    # the officer is told why and what unblocks it, instead of an internal error.
    assert isinstance(exc, UnknownCalendarYear)
    log.warning("http.calendar_year_unknown", path=request.url.path, year=exc.year)
    problem = Problem(
        422,
        "calendar_year_unknown",
        f"{exc.year}年工作日历尚未录入 (working calendar for {exc.year} not yet entered)",
        f"{exc.message_zh} {exc}",
        year=exc.year,
        known_years=list(exc.known),
    )
    return problem_response(problem, request)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
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


_HTTP_PROBLEMS = {
    404: ("not_found", "资源不存在 (not found)"),
    405: ("method_not_allowed", "不支持此请求方法 (method not allowed)"),
}

# A caller's id is written into every event the request causes and every log line: issue 10
# item 9 found 8 KB ids stored verbatim. One that breaks this rule is replaced, not trimmed.
_FIT_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def correlation_id(given: str | None) -> str:
    """The caller's X-Correlation-ID if it is at most 128 of [A-Za-z0-9._:-], else a new id."""
    if given is not None and _FIT_CORRELATION_ID.fullmatch(given):
        return given
    return random_id()  # str(uuid.uuid4()) was 2% of the registry's busy loop (issue 12)


# --------------------------------------------------------------------------- refusals


def _route_of(request: Request) -> str:
    """The matched route's template (`/agencies/{uscc}`): label values a caller cannot grow."""
    path = getattr(request.scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def _client_of(request: Request) -> str:
    # The peer address; behind a proxy, uvicorn puts the client's there from X-Forwarded-For
    # when the proxy is trusted (FORWARDED_ALLOW_IPS, docs/operations.md).
    # Read from the scope: `request.client` builds an Address a request (issue 12).
    client = request.scope.get("client")
    return str(client[0]) if client is not None else "unknown"


def record_refusal(request: Request, status: int, reason: str) -> None:
    """Log a refused request as a security event and count it (issue 10 item 9)."""
    route = _route_of(request)
    caller: Principal | None = getattr(request.state, "principal", None)
    REFUSED_REQUESTS.labels(str(status), route).inc()
    log.warning(
        "security.refused",
        status=status,
        subject=caller.subject if caller is not None else None,
        role=caller.role.value if caller is not None else None,
        route=route,
        method=request.method,
        reason=reason[:300],
        client=_client_of(request),
    )


# --------------------------------------------------------------------------- failed authentication

# Issue 10 item 9: past this many failed authentications from one address within the window,
# its requests are answered 429 without verifying their token (docs/auth.md).
AUTH_FAILURE_LIMIT = 20
AUTH_FAILURE_WINDOW_SECONDS = 60.0
# Addresses remembered at once; past it the least recently failed are forgotten first.
AUTH_FAILURE_MAX_ADDRESSES = 10_000


class TooManyFailedAuthentications(Exception):
    """An address failed to authenticate too often; answered 429 with Retry-After."""

    def __init__(self, address: str, retry_after: int) -> None:
        super().__init__(f"too many failed authentications from {address}")
        self.retry_after = retry_after


class FailedAuthentications:
    """Failed authentications per client address over a sliding window, in this process.

    An address with `limit` failures in the last `window` seconds is held until the oldest of
    them leaves the window. Only the last `limit` failure times of an address are kept.
    """

    def __init__(
        self,
        *,
        limit: int = AUTH_FAILURE_LIMIT,
        window: float = AUTH_FAILURE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = AUTH_FAILURE_MAX_ADDRESSES,
    ) -> None:
        self._limit, self._window, self._clock = limit, window, clock
        self._max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}
        # Asked on the event loop; the lock keeps it safe for a caller on a worker thread.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until `address` may authenticate again, or None if it may now."""
        if address not in self._failures:  # the common case, asked on every request
            return None
        with self._lock:
            now = self._clock()
            times = self._recent(address, now)
            if len(times) < self._limit:
                return None
            return max(1, math.ceil(times[0] + self._window - now))

    def failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            times = self._recent(address, now)
            times.append(now)
            self._failures.pop(address, None)
            self._failures[address] = times  # last in order: the most recent failure
            while len(self._failures) > self._max_addresses:
                del self._failures[next(iter(self._failures))]

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.get(address) or deque(maxlen=self._limit)
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            self._failures.pop(address, None)
        return times


# --------------------------------------------------------------------------- security headers

# Issue 10 item 9. One policy for every page: the dashboard and /docs (servicekit/docs_ui.py)
# load only their own scripts and style sheets; `data:` images are the dashboard's empty favicon
# and Swagger UI's icons.
STRICT_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # for browsers without CSP frame-ancestors
}


# --------------------------------------------------------------------------- request size


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None  # chunked, or no body; a malformed header is the server's to refuse


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or _BodyTooLarge at the first chunk that takes it over the limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the server's own messages."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. http.disconnect

    return replayed


def _given_correlation(scope: Scope) -> str | None:
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"x-correlation-id":
            return value.decode("latin-1")
    return None


# Encoded once: the answer's headers are extended with these in one step, replacing any of the
# same name the app set (issue 12: five `MutableHeaders` assignments per answer).
_EDGE_HEADERS = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in {"Content-Security-Policy": STRICT_CSP, **SECURITY_HEADERS}.items()
]
_CORRELATION_HEADER = b"x-correlation-id"
_EDGE_NAMES = frozenset([name for name, _ in _EDGE_HEADERS] + [_CORRELATION_HEADER])


def _answered_with(send: Send, correlation: str | None) -> Send:
    """`send` with the security headers (and the correlation id) added to the answer."""
    added = list(_EDGE_HEADERS)
    if correlation is not None:
        added.insert(0, (_CORRELATION_HEADER, correlation.encode("latin-1")))

    async def answer(message: Message) -> None:
        if message["type"] == "http.response.start":
            given = message.get("headers", ())
            message["headers"] = [h for h in given if h[0] not in _EDGE_NAMES] + added
        await send(message)

    return answer


# Issue 12: a command's POST passed four middleware layers and two nested routers (a tenth of
# the registry's CPU under load) to reach its route. A route that can answer on its own notes
# itself here under the exact path routing brought it, with the exception handlers
# ExceptionMiddleware gave it; later requests to that path go to it straight from `Edge`, inside
# those same handlers. What it declines (anything not plainly well-formed) takes the full path.
DIRECT_ROUTES = "servicekit.direct_routes"


class DirectRoute(Protocol):
    async def answer_plainly(self, request: Request, body: bytes, send: Send) -> bool:
        """Answer the request (`body`: all of its body) and return True, or return False
        having sent nothing."""


Handlers = Any  # Starlette's (exception handlers, status handlers) pair, as it set them


def note_direct_route(scope: Scope, route: DirectRoute) -> None:
    """Called by the route on a request routing brought to it (POST only)."""
    learned: dict[str, tuple[DirectRoute, Handlers]] | None = scope.get(DIRECT_ROUTES)
    handlers = scope.get("starlette.exception_handlers")
    if learned is not None and handlers is not None:
        learned[scope["path"]] = (route, handlers)


class Edge:
    """What every request passes before the app, in one pure ASGI layer (four, each awaiting
    the next and wrapping `send`, cost a command more CPU than its own checks: issue 12).

    - Security headers and a Content-Security-Policy on every answer (issue 10 item 9).
    - A body over the limit refused 413 before any of it reaches the app (issue 9 item 6: an
      event Kafka refuses, 1 MB, stops its topic). A declared Content-Length is checked before
      reading; a chunked body is counted as it arrives and reading stops at the chunk that
      crosses the limit. The refusal carries the security headers, not a correlation id.
    - A correlation id: bound for the logs, stored on the request's state, echoed in
      X-Correlation-ID (not `@app.middleware("http")`, whose task group and streamed response
      cost more than a command's own checks).
    - During a database outage, after each answer (already sent), a check whether it ended.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: Callable[[], int], outage: DatabaseOutage | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.outage = outage
        self.direct: dict[str, tuple[DirectRoute, Handlers]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        declared = _declared_length(scope)
        try:
            if declared is not None and declared > limit:
                raise _BodyTooLarge
            body = await _read_body(receive, limit)
        except _BodyTooLarge:
            await _refuse_oversized(scope, receive, _answered_with(send, None), limit, declared)
            return
        except _ClientGone:
            return  # nobody is left to answer
        assigned = correlation_id(_given_correlation(scope))
        scope.setdefault("state", {})["correlation_id"] = assigned
        scope[DIRECT_ROUTES] = self.direct
        answer = _answered_with(send, assigned)
        # Bound and reset by token: `bound_contextvars` reads and restores the whole context,
        # 2% of the registry's busy loop under load (issue 12).
        bound = structlog.contextvars.bind_contextvars(correlation_id=assigned)
        try:
            if not await self._answered_directly(scope, body, receive, answer):
                await self.app(scope, replay_body(body, receive), answer)
        finally:
            structlog.contextvars.reset_contextvars(**bound)
        if self.outage is not None:
            await self.outage.recheck()

    async def _answered_directly(
        self, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> bool:
        known = self.direct.get(scope["path"]) if scope["method"] == "POST" else None
        if known is None:
            return False
        route, handlers = known
        scope["route"] = route  # named in the log line and metric of a refusal
        scope["starlette.exception_handlers"] = handlers
        declined = False

        async def attempt(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal declined
            declined = not await route.answer_plainly(Request(scope, receive), body, send)

        # Its refusals answered by the handlers ExceptionMiddleware would have used; anything
        # they do not handle goes on out to ServerErrorMiddleware (500), as from the route.
        handled = wrap_app_handling_exceptions(attempt, Request(scope))
        await handled(scope, replay_body(body, receive), send)
        if declined:
            del scope["route"], scope["starlette.exception_handlers"]
        return not declined


async def _refuse_oversized(
    scope: Scope, receive: Receive, send: Send, limit: int, declared: int | None
) -> None:
    request = Request(scope)
    log.warning("http.payload_too_large", path=request.url.path, limit=limit, declared=declared)
    problem = Problem(
        413,
        "payload_too_large",
        "请求体过大 (payload too large)",
        f"The request body is larger than {limit} bytes; it was not read and nothing was stored.",
        max_bytes=limit,
    )
    await problem_response(problem, request)(scope, receive, send)


def install_edge(
    app: FastAPI, max_bytes: Callable[[], int], outage: DatabaseOutage | None = None
) -> None:
    """Security headers, the body limit, correlation ids and outage checks (`Edge`), outside
    the app's own middleware so that an oversized body is refused before anything reads it."""
    app.add_middleware(Edge, max_bytes=max_bytes, outage=outage)


# --------------------------------------------------------------------------- database outage

# How long a client should wait before retrying while the database is unreachable.
DATABASE_RETRY_AFTER_SECONDS = 5
# How long the check for the end of an outage may wait for the database.
DATABASE_PROBE_TIMEOUT_SECONDS = 2.0

# Errors that mean the database could not be reached or the connection was lost, as opposed to
# the database refusing a statement. OSError covers refused connections, unreachable hosts and
# timeouts (TimeoutError is an OSError).
DATABASE_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, e.g. the connection does not exist
    asyncpg.CannotConnectNowError,  # the server is starting up or shutting down
    asyncpg.AdminShutdownError,  # pg_ctl stop (fast or immediate)
    asyncpg.CrashShutdownError,  # another backend crashed
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,  # only when the connection is closed: see connection_lost
    OSError,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether exc (or what it was raised from) means the database is unreachable.

    asyncpg's InterfaceError also reports misuse of a connection (a bug, which stays a 500); it
    counts only when it says the connection or pool is closed, e.g. "cannot call
    Transaction.__aexit__(): the underlying connection is closed" after the server went away.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, asyncpg.InterfaceError):
            if "closed" in str(current) or "closing" in str(current):
                return True
        elif isinstance(current, DATABASE_CONNECTION_ERRORS):
            return True
        current = current.__cause__ or current.__context__
    return False


class DatabaseOutage:
    """Logs an outage once when it begins and once when it ends, not once per request."""

    def __init__(self, probe: Callable[[], Awaitable[object]]) -> None:
        self._probe = probe
        self._since: float | None = None
        self._probing = False

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def began(self, reason: str) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.error("database.unavailable", reason=reason)

    def ended(self) -> None:
        if self._since is not None:
            down = time.monotonic() - self._since
            self._since = None
            # warning, not info, so that it shows wherever the outage did
            log.warning("database.available", down_seconds=round(down, 1))

    async def recheck(self) -> None:
        """While an outage lasts, ask the database again (one probe at a time)."""
        if self._since is None or self._probing:
            return
        self._probing = True
        try:
            await asyncio.wait_for(self._probe(), DATABASE_PROBE_TIMEOUT_SECONDS)
        except DATABASE_CONNECTION_ERRORS:
            return  # still down; already logged
        finally:
            self._probing = False
        self.ended()


DATABASE_UNAVAILABLE = Problem(
    503,
    "database_unavailable",
    "数据库暂时不可用，结果未知 (database unavailable, outcome unknown)",
    "The database could not be reached or the connection was lost, so whether this request "
    "took effect is unknown. Retry after Retry-After seconds: a command retried with the same "
    "Idempotency-Key is applied at most once (an earlier success is answered as a duplicate).",
)


def install_database_outage(app: FastAPI, probe: Callable[[], Awaitable[object]]) -> DatabaseOutage:
    """Answer connection-level database errors 503 with Retry-After, never a 500 with a trace.

    Issue 9 item 12: a command may have committed before its connection dropped, so the answer
    says the outcome is unknown and a retry with the same Idempotency-Key is safe. `probe` asks
    the database (e.g. SELECT 1) to see an outage end.
    """
    outage = DatabaseOutage(probe)

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        if not connection_lost(exc):
            raise exc  # not an outage: the 500 handler logs it with its trace
        outage.began(f"{type(exc).__name__}: {exc}")
        response = problem_response(DATABASE_UNAVAILABLE, request)
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    for error in DATABASE_CONNECTION_ERRORS:
        app.add_exception_handler(error, on_unavailable)
    return outage  # its end is seen after a request by `Edge` (install_edge)


# --------------------------------------------------------------------------- auth

bearer = HTTPBearer(auto_error=False, description="JWT from `python -m servicekit.auth issue`")


def bearer_token(request: Request) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None: what `bearer` reads, without the
    credentials model it builds (issue 12: a command's direct path reads the token so)."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def principal_dependency(
    settings: Callable[[], TokenSettings], failures: FailedAuthentications | None = None
) -> Callable[[Request, str | None], Awaitable[Principal]]:
    """The app's authenticator: the caller of a bearer token (None: none given), or 401.

    With `failures`, an address that presented too many invalid tokens gets 429 instead, and
    its token is not verified; a missing token is not a failed authentication.
    """

    verified = VerifiedTokens()

    # async: a plain `def` dependency runs in a worker thread, a hop that cost more CPU than
    # the check itself once verified tokens are remembered.
    async def current_principal(request: Request, token: str | None) -> Principal:
        if token is None:
            raise Unauthenticated("missing bearer token")
        address = _client_of(request)
        if failures is not None and (wait := failures.retry_after(address)) is not None:
            raise TooManyFailedAuthentications(address, wait)
        try:
            current = settings()
            principal = verified.remembered(current, token)
            if principal is None and current.jwks is not None:
                # An identity provider's keys may have to be fetched: not on the event loop.
                principal = await asyncio.to_thread(verified.verify, current, token)
            elif principal is None:
                principal = verified.verify(current, token)
        except Unauthenticated:
            if failures is not None:
                failures.failed(address)
            raise
        # Named in the log line of a later refusal (`request.state`, without building it).
        request.scope.setdefault("state", {})["principal"] = principal
        return principal

    return current_principal


IDEMPOTENCY_KEY_MAX_LENGTH = 200
STREAM_VERSION_MAX = 2**63 - 1  # PostgreSQL's bigint
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Client-chosen id of this command; a retry with the same key is answered "
        "with the original result and stores nothing new",
    ),
]
IfMatch = Annotated[
    int | None,
    Header(
        alias="If-Match",
        ge=0,
        le=STREAM_VERSION_MAX,
        description="The stream version the client last saw; a different current version is a 409",
    ),
]


_HANDLERS: tuple[
    tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]], ...
] = (
    (Problem, _on_problem),
    (RequestValidationError, _on_validation),
    (StarletteHTTPException, _on_http),
    (Unauthenticated, _on_unauthenticated),
    (Forbidden, _on_forbidden),
    (TooManyFailedAuthentications, _on_too_many_failures),
    (ConcurrencyConflict, _on_conflict),
    (IdempotencyKeyReused, _on_key_reused),
    (asyncpg.DataError, _on_bad_value),
    (OverflowError, _on_bad_value),
    (UnknownCalendarYear, _on_calendar_unknown),
    (Exception, _on_unexpected),
)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error a client can cause to a 4xx problem; anything else to a logged 500."""
    for exc_type, handler in _HANDLERS:
        app.add_exception_handler(exc_type, handler)
