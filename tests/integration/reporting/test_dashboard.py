"""The dashboard in headless Chromium: it loads, shows the known numbers, and logs no errors."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from playwright.async_api import async_playwright

from servicekit.auth import Role
from servicekit.settings import ServiceSettings
from services.reporting.app import create_app
from tests.integration.reporting.dataset import known_history, publish
from tests.support import token, wait_for

pytestmark = pytest.mark.infra

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium package; installed here when missing (CI starts from a clean machine)."""
    if not CHROMIUM.exists():
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update"], check=True, env=env)  # noqa: S603 - fixed command
        subprocess.run([*sudo, "apt-get", "install", "-y", "chromium"], check=True, env=env)  # noqa: S603 - fixed command
    assert CHROMIUM.exists(), "apt-get install chromium did not provide /usr/bin/chromium"
    return CHROMIUM


def _started(server: uvicorn.Server) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return bool(server.started)

    return probe


@pytest.fixture
async def served(service_env: dict[str, str]) -> AsyncIterator[str]:
    app = create_app(ServiceSettings())
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    await wait_for(_started(server), timeout=60)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_dashboard_shows_the_known_numbers(
    served: str, producer: AIOKafkaProducer, chromium: Path
) -> None:
    await publish(producer, known_history())  # same event ids as elsewhere: stored once
    bearer = token(Role.CITY_ADMIN)
    url = f"{served}/dashboard?token={bearer}&year=2011&half=mid_year&as_of=2011-06-30"
    problems: list[str] = []
    outside: list[str] = []
    profile = tempfile.mkdtemp(prefix="rep-chromium-")
    try:
        async with async_playwright() as pw:
            # A fresh profile directory (--user-data-dir) for every run.
            browser = await pw.chromium.launch_persistent_context(
                profile, executable_path=str(chromium), args=FLAGS, headless=True
            )
            page = await browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((served, "data:", "blob:")) else outside.append(r.url)
                ),
            )
            cell = "#unit-table tbody tr[data-unit=zhongyuan] td[data-figure=agencies_incubating]"
            covered = "#coverage tbody tr[data-unit=zhongyuan] td[data-item={}]"

            async def caught_up() -> bool:
                # The projection may still be catching up: reload until the page shows it.
                await page.goto(url)
                await page.wait_for_selector("body[data-state=ready]", timeout=15000)
                return (
                    await page.text_content(cell) == "2"
                    and await page.text_content(covered.format("elderly")) == "1"
                )

            await wait_for(caught_up, timeout=30, interval=0.5)
            row = "#unit-table tbody tr[data-unit=zhongyuan]"
            figures = {
                key: await page.text_content(f"{row} td[data-figure={key}]")
                for key in (
                    "bases_operating",
                    "agencies_registered",
                    "agencies_new",
                    "agencies_incubating",
                    "agencies_graduated",
                    "funding_total_yuan",
                    "training_attendees",
                    "violations",
                )
            }
            assert figures == {
                "bases_operating": "1",
                "agencies_registered": "3",
                "agencies_new": "4",
                "agencies_incubating": "2",
                "agencies_graduated": "1",
                "funding_total_yuan": "62000.50",
                "training_attendees": "25",
                "violations": "1",
            }
            title = await page.text_content("#report-title")
            assert title is not None and "2011 年年中报告" in title
            base_card = await page.text_content("#target-base_local_incubation")
            assert base_card is not None and "1 / 1" in base_card
            district = await page.text_content("#target-district_bases")
            assert district is not None and "1 / 10" in district and "二七区" in district
            listing = await page.text_content("#listings tbody")
            assert listing is not None and "活动异常名录" in listing and "2013-03-01" in listing
            assert await page.locator("#unit-chart svg rect").count() == 32
            # Coverage as of 2011-06-30: A0 and A2 serve children, A1 the elderly (A3, elderly,
            # was deregistered on 2011-06-20); all four serve the community, 巩义市 has A5.
            coverage = {
                item: await page.text_content(covered.format(item))
                for item in ("children", "elderly", "community_service", "women")
            }
            assert coverage == {
                "children": "2",
                "elderly": "1",
                "community_service": "3",
                "women": "0",
            }
            gongyi = "#coverage tbody tr[data-unit=gongyi]"
            assert await page.text_content(f"{gongyi} td[data-item=children]") == "1"
            assert await page.text_content(f"{gongyi} td:first-child") == "巩义市"
            assert await page.locator("#coverage tbody tr").count() == 16
            head = await page.text_content("#coverage thead")
            assert head is not None and "服务对象" in head and "★儿童" in head
            assert "社区服务" in head and "妇女" in head and "★妇女" not in head
            await browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert problems == []
    assert outside == []
