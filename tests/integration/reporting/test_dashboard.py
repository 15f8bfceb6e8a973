"""The dashboard in headless Chromium: it loads, shows the known numbers, and logs no errors."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook
from playwright.async_api import Page, async_playwright

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
                "funding_total_yuan": "62,000.50",  # separators on the page
                "training_attendees": "25",
                "violations": "1",
            }
            # Which recorded facts the figures include (Report-Applied-Through), in words.
            message = await page.text_content("#message")
            assert message is not None and "数据截至 2011-06-30" in message
            assert "已计入" in message and "前入库的记录" in message
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
            await check_officer_view(page, served, bearer)
            await browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert problems == []
    assert outside == []


async def check_officer_view(page: Page, served: str, bearer: str) -> None:
    """issue 11 §7: what misled or hindered an officer reading the page."""
    # Downloads keep the report and the date in the file name; money is a number in Excel.
    async with page.expect_download() as caught:
        await page.click("a[data-export=half-year][data-format=xlsx]")
    download = await caught.value
    assert download.suggested_filename == "2011年年中报告-2011-06-30.xlsx"
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    money = sheet.cell(row=2, column=header.index("资金扶持合计（元）") + 1)
    assert money.data_type == "n" and money.number_format == "#,##0.00"
    async with page.expect_download() as caught:
        await page.click("a[data-export=coverage][data-format=csv]")
    coverage = await caught.value
    assert coverage.suggested_filename == "重点覆盖-2011-06-30.csv"
    raw = await asyncio.to_thread(Path(await coverage.path()).read_bytes)
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[1].split(",")[1] in ("服务对象", "服务领域")  # 维度 in Chinese

    # The longest unit name fits under the bar chart.
    clipped = await page.evaluate(
        """() => {
            const svg = document.querySelector("#unit-chart svg").getBoundingClientRect();
            return [...document.querySelectorAll("#unit-chart svg text")]
              .filter((t) => t.getBoundingClientRect().bottom > svg.bottom + 0.5)
              .map((t) => t.textContent);
        }"""
    )
    assert clipped == []

    # An empty list says 暂无; no token and a bad token say what to do, in an officer's words.
    await page.goto(f"{served}/dashboard?year=2000&half=mid_year&as_of=2000-06-30")
    await page.wait_for_selector("body[data-state=ready]")
    assert await page.text_content("#listings tbody") == "暂无"
    fresh = await page.context.new_page()  # a new tab: no token in its session storage
    await fresh.goto(f"{served}/dashboard")
    await fresh.wait_for_selector("body[data-state=no-token]")
    message = await fresh.text_content("#message")
    assert message is not None and "系统管理员" in message and "./dev" not in message
    await fresh.close()
    refused = await page.context.new_page()
    await refused.goto(f"{served}/dashboard#token=not-a-token")
    await refused.wait_for_selector("body[data-state=error]")
    message = await refused.text_content("#message")
    assert message is not None and "令牌无效或已过期" in message
    await refused.close()
