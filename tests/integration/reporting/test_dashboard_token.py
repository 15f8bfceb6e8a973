"""The dashboard's token never stays in the address bar (issue 10, item 9).

A token in the address ends up in the browser history, in bookmarks and in screenshots: the page
reads it once (from `#token=`, preferred as a fragment never reaches a server, or `?token=`),
keeps it in the tab's sessionStorage, and cleans the address. Under the service's strict
Content-Security-Policy the page loads with no console error.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from servicekit.auth import Role
from tests.integration.reporting.test_dashboard import (  # noqa: F401 - pytest fixtures
    FLAGS,
    chromium,
    served,
)
from tests.support import token

pytestmark = pytest.mark.infra
KEY = "reporting-token"


async def loaded(page: Page, url: str) -> None:
    await page.goto(url)
    await page.wait_for_selector("body[data-state=ready]", timeout=15000)


async def stored(page: Page) -> object:
    return await page.evaluate(f"sessionStorage.getItem({KEY!r})")


async def test_the_token_moves_from_the_address_to_session_storage(
    served: str,  # noqa: F811 - the fixture imported above
    chromium: Path,  # noqa: F811 - the fixture imported above
) -> None:
    bearer, other = token(Role.CITY_ADMIN, sub="viewer-1"), token(Role.AUDITOR, sub="viewer-2")
    problems: list[str] = []
    profile = tempfile.mkdtemp(prefix="rep-chromium-")
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch_persistent_context(
                profile, executable_path=str(chromium), args=FLAGS, headless=True
            )
            page = await browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))

            # A fragment: read once, stored, removed; the other parameters stay.
            await loaded(page, f"{served}/dashboard?year=2011&half=mid_year#token={bearer}")
            assert page.url == f"{served}/dashboard?year=2011&half=mid_year"
            assert await stored(page) == bearer
            assert await page.input_value("#token") == bearer
            assert await page.input_value("#year") == "2011"

            # Reloaded without a token in the address, the tab still has it.
            await page.reload()
            await page.wait_for_selector("body[data-state=ready]", timeout=15000)
            assert await page.input_value("#token") == bearer

            # A query parameter is accepted too, replaces the stored token, and is removed.
            await loaded(page, f"{served}/dashboard?token={other}&year=2012")
            assert page.url == f"{served}/dashboard?year=2012"
            assert await stored(page) == other
            assert await page.input_value("#token") == other
            await browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert problems == []
