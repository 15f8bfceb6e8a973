"""The typed FastAPI dependencies every service's routes share: its runtime and the caller (and
the request's correlation id, read where it is needed). Routers are module-level
(`router = APIRouter()`) and declare what they need in their signatures;
`servicekit.web.service_app` puts the runtime and the app's authenticator on `app.state` in its
lifespan and composition.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain `def` in its
thread pool, a hand-off to another thread and back on every request (issue 12)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from servicekit.auth import Principal
from servicekit.http import bearer, bearer_token
from servicekit.runtime import Runtime

# What `servicekit.http.principal_dependency` builds, once per app (its caches are the app's).
Authenticate = Callable[[Request, str | None], Awaitable[Principal]]


def runtime_of(request: Request) -> Runtime:
    """The runtime the app's lifespan started (pool, event store, group commit)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def current_runtime(request: Request) -> Runtime:
    """`runtime_of` as a dependency."""
    return runtime_of(request)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The authenticated caller (401 without a valid bearer token, 429 after too many)."""
    check: Authenticate = request.app.state.authenticate
    return await check(request, None if credentials is None else credentials.credentials)


async def authenticate(request: Request) -> Principal:
    """`current_caller` called directly: the bearer token read as `bearer` reads it."""
    check: Authenticate = request.app.state.authenticate
    return await check(request, bearer_token(request))


def correlation_of(request: Request) -> str:
    """The request's correlation id (`X-Correlation-ID`, or one made up at the edge)."""
    correlation: str = request.state.correlation_id
    return correlation


CurrentRuntime = Annotated[Runtime, Depends(current_runtime)]
Caller = Annotated[Principal, Depends(current_caller)]
