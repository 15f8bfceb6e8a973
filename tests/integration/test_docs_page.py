"""/docs works on an intranet: Swagger UI comes from the service itself, under the strict CSP."""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.async_api import async_playwright

from services.registry.app import create_app
from tests.integration.apphost import running
from tests.integration.reporting.test_dashboard import FLAGS, chromium, served  # noqa: F401

pytestmark = pytest.mark.infra
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest.fixture
async def registry(service_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app) as client:
        yield client


async def test_docs_references_only_same_origin_assets_that_answer(
    registry: httpx.AsyncClient,
) -> None:
    page = await registry.get("/docs")
    assert page.status_code == 200
    assert "<script>" not in page.text.replace(" ", ""), "an inline script needs a CSP exception"
    base = str(page.url)
    assets = [urljoin(base, ref) for ref in REFERENCE.findall(page.text)]
    assert len(assets) >= 4, page.text  # favicon, style sheet, bundle, start script
    for asset in assets:
        assert urlsplit(asset).netloc == urlsplit(base).netloc, asset
        answer = await registry.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 100, asset
    # Nor does the start script point Swagger UI at another host (e.g. the validator badge).
    start = (await registry.get("/docs/swagger-init.js")).text
    assert "http" not in start.replace("validator.swagger.io", ""), start
    assert "validatorUrl: null" in start


async def test_swagger_ui_renders_in_a_browser_without_csp_violations(
    served: str,  # noqa: F811 - the imported fixture
    chromium: Path,  # noqa: F811 - the imported fixture
) -> None:
    problems: list[str] = []
    outside: list[str] = []
    profile = tempfile.mkdtemp(prefix="docs-chromium-")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), args=FLAGS, headless=True
        )
        try:
            page = await browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "request",
                lambda r: None if r.url.startswith((served, "data:")) else outside.append(r.url),
            )
            await page.goto(f"{served}/docs")
            await page.wait_for_selector(".swagger-ui .info .title", timeout=30000)
            await page.wait_for_selector(".opblock", timeout=30000)  # the operations, rendered
            title = await page.text_content(".swagger-ui .info .title")
        finally:
            await browser.close()
    assert title is not None and "Reporting" in title
    assert outside == []
    assert problems == []  # a refused script or style is logged as a console error
