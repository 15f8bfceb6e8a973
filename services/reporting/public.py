"""The public channel (公示, 信息共享, 成果展示; issue 11 §5): read-only, no token, rate-limited.

Why here: reporting already folds every service's topic (registry, incubation, supervision) into
one log of facts, so the public rows come from one place without a service reading another's
tables; a separate router (`/public…`) and a separate pure fold (`domain/public.py`) keep it apart
from the internal, token-guarded API — it shares neither routes nor response shapes with it, and
shows only what `domain/public.py` lets out. Each address may make `PUBLIC_RATE_LIMIT_PER_MINUTE`
requests a minute (default 120) in this process; past that, 429 with the seconds to wait.

Anyone may call it, so no caller may make it fold the log at will: one request folds for all
that arrive meanwhile, in a thread (the event loop keeps answering), and a folded state serves
for `PUBLIC_REFRESH_SECONDS` (default 10) before new facts are looked for.
"""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.http import FailedAuthentications, Problem
from servicekit.runtime import Runtime
from services.reporting import readmodel
from services.reporting.domain import public
from services.reporting.domain.periods import local_date

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"public.js": "text/javascript", "public.css": "text/css"}


class PublicSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    rate_limit_per_minute: int = Field(
        default=120, ge=1, validation_alias="PUBLIC_RATE_LIMIT_PER_MINUTE"
    )
    refresh_seconds: float = Field(default=10.0, ge=0, validation_alias="PUBLIC_REFRESH_SECONDS")


@dataclass
class _Folded:
    state: public.PublicState
    generation: str
    applied: int
    day: dt.date
    at: float  # time.monotonic() of the fold or of the last check that found nothing new


class PublicView:
    """The newest public state, folded by one request for every request waiting on it."""

    def __init__(self, refresh_seconds: float) -> None:
        self.refresh_seconds = refresh_seconds
        self.folded: _Folded | None = None
        self.lock = asyncio.Lock()

    async def state(self, runtime: Runtime, day: dt.date) -> public.PublicState:
        async with self.lock:  # waiters get the state the first one folded
            now = time.monotonic()
            held = self.folded
            if held is not None and held.day == day and now - held.at < self.refresh_seconds:
                return held.state
            async with runtime.pool.acquire() as conn:
                generation = await readmodel.current_generation(conn)
                applied = await readmodel.offsets_total(conn, await readmodel.live_consumer(conn))
                if held is not None and (held.generation, held.applied, held.day) == (
                    generation,
                    applied,
                    day,
                ):
                    held.at = now
                    return held.state
                facts = await readmodel.load_facts(
                    conn, generation, effective_until=day, recorded_until=None
                )
            state = await asyncio.to_thread(public.fold_public, facts)
            self.folded = _Folded(state, generation, applied, day, now)
            return state


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def build_public_router(runtime_of: Callable[[Request], Runtime]) -> APIRouter:
    router = APIRouter(prefix="/public", tags=["public 公开"])
    settings = PublicSettings()
    # The same sliding window that holds back failed authentications, counting every request.
    window = FailedAuthentications(limit=settings.rate_limit_per_minute, window=60.0)
    view = PublicView(settings.refresh_seconds)

    def admit(request: Request) -> None:
        address = _client(request)
        wait = window.retry_after(address)
        if wait is not None:
            raise Problem(
                429,
                "too_many_requests",
                "请求过于频繁，请稍后再试 (too many requests)",
                f"retry after {wait} s",
                retry_after=wait,
            )
        window.failed(address)  # counts the request

    async def state(request: Request) -> tuple[public.PublicState, dt.date]:
        admit(request)
        day = local_date(dt.datetime.now(dt.UTC))
        return await view.state(runtime_of(request), day), day

    def listing(
        rows: Callable[[public.PublicState, dt.date], list[dict[str, Any]]],
    ) -> Callable[[Request], Awaitable[dict[str, Any]]]:
        async def read(request: Request) -> dict[str, Any]:
            found, day = await state(request)
            items = rows(found, day)
            return {"as_of": day, "total": len(items), "items": items}

        return read

    routes: tuple[tuple[str, str, Callable[[public.PublicState, dt.date], Any]], ...] = (
        ("notices", "入孵公示 Public notices of admissions", public.notices),
        ("agencies", "入孵机构公示 Admitted agencies", lambda s, _d: public.admitted(s)),
        ("credit-lists", "信用名录 Credit lists", lambda s, _d: public.credit_lists(s)),
        ("grades", "评估等级 Evaluation grades", public.grades),
        ("calls", "入孵申请通知 Published calls", lambda s, _d: public.calls(s)),
        ("showcase", "成果展示 Commendations", lambda s, _d: public.showcase(s)),
    )
    for path, summary, rows in routes:
        router.add_api_route(f"/api/{path}", listing(rows), methods=["GET"], summary=summary)

    @router.get("", summary="公开信息页 Public page", response_class=HTMLResponse)
    async def page(request: Request) -> FileResponse:
        admit(request)
        return FileResponse(STATIC / "public.html", media_type="text/html; charset=utf-8")

    @router.get("/assets/{name}", include_in_schema=False)
    async def asset(request: Request, name: str) -> FileResponse:
        admit(request)
        if name not in ASSETS:
            raise Problem(404, "not_found", "资源不存在 (not found)", name)
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    return router
