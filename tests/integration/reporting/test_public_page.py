"""The public channel (issue 11 §5): no token, only public data, rate-limited, in Chromium.

A small history of 2013 (ids of its own) is published as the producers would; the public page,
opened without a token, shows the call, the admitted agency, the credit listing with its ground
and date (not the officer's free-text detail), an expired grade as expired and a commendation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import async_playwright
from socialwork_contracts import incubation as inc
from socialwork_contracts import supervision as sup

from services.reporting.app import create_app
from services.reporting.domain import public as public_domain
from tests.integration.apphost import running
from tests.integration.reporting.dataset import Published, at, ident, publish, registered
from tests.integration.reporting.test_dashboard import (  # noqa: F401 - pytest fixtures
    FLAGS,
    chromium,
    served,
)
from tests.support import uscc_for, wait_for

pytestmark = pytest.mark.infra
D = dt.date
AGENCY = uscc_for(7_400_001, unit_code="410102")
BASE = ident("public-base")
SECRET = "举报人李某某电话13800000000"  # an officer's free text: never public


def history() -> list[Published]:
    agency = registered(401, AGENCY, "zhongyuan", "410102", "2013-01-10")
    agency = Published("public-reg", agency.event, agency.occurred, agency.recorded)
    base = inc.BaseEstablished(
        base_id=BASE,
        name="中原区公开测试孵化基地",
        level="county",
        reporting_unit="zhongyuan",
        county_code="410102",
        address="郑州市中原区某路 2 号",
        supervising_department="中原区民政局",
        operator="某运营机构",
        offices=[inc.Office(office_id="301", area_m2="18.00", shared_room=False)],
        has_desks_and_chairs=True,
        has_projector=True,
        fire_safety_compliant=True,
        established_on=D(2013, 1, 2),
    )
    call = inc.CallPublished(
        base_id=BASE,
        call_id=ident("public-call"),
        title="2013年中原区公开测试入孵申请通知",
        opens_on=D(2013, 2, 1),
        closes_on=D(2013, 2, 28),
        places=3,
        standard_version=1,
        published_on=D(2013, 1, 20),
    )
    incubation = ident("public-incubation")
    applied = inc.ApplicationSubmitted(
        incubation_id=incubation,
        base_id=BASE,
        call_id=ident("public-call"),
        uscc=AGENCY,
        agency_name="旧名称",
        local=True,
        submitted_on=D(2013, 2, 5),
    )
    notice = inc.PublicNoticeOpened(
        incubation_id=incubation,
        base_id=BASE,
        uscc=AGENCY,
        agency_name="旧名称",
        starts_on=D(2013, 2, 18),
        ends_on=D(2013, 2, 22),
    )
    approved = inc.ApplicationApproved(
        incubation_id=incubation,
        base_id=BASE,
        call_id=ident("public-call"),
        uscc=AGENCY,
        opinion="准予入孵",
        approved_on=D(2013, 3, 1),
    )
    listed = sup.AgencyListed(
        listing_id=ident("public-listing"),
        uscc=AGENCY,
        list="abnormal",
        ground="unreachable",
        detail=SECRET,
        legal_basis="《社会组织信用信息管理办法》第十三条",
        listed_on=D(2013, 6, 3),
    )
    grade = sup.EvaluationGradeAwarded(
        evaluation_id=ident("public-grade"),
        uscc=AGENCY,
        grade=3,
        announced_on=D(2013, 5, 1),
        valid_from=D(2013, 5, 1),
        valid_to=D(2018, 4, 30),
    )
    honour = sup.CommendationRecorded(
        commendation_id=ident("public-honour"),
        uscc=AGENCY,
        title="郑州市优秀社会工作服务机构（公开测试）",
        awarding_body="郑州市民政局",
        document_number="郑民〔2013〕99号",
        awarded_on=D(2013, 12, 20),
    )
    dated = [
        ("public-base", base, "2013-01-02"),
        ("public-call", call, "2013-01-20"),
        ("public-applied", applied, "2013-02-05"),
        ("public-notice", notice, "2013-02-18"),
        ("public-approved", approved, "2013-03-01"),
        ("public-listed", listed, "2013-06-03"),
        ("public-grade", grade, "2013-05-01"),
        ("public-honour", honour, "2013-12-20"),
    ]
    return [agency, *(Published(n, e, at(d), at(d, 11)) for n, e, d in dated)]


async def test_the_public_page_shows_public_data_without_a_token(
    served: str,  # noqa: F811 - the fixture imported above
    producer: AIOKafkaProducer,
    chromium: Path,  # noqa: F811 - the fixture imported above
) -> None:
    await publish(producer, history())
    problems: list[str] = []
    outside: list[str] = []
    profile = tempfile.mkdtemp(prefix="pub-chromium-")
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
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith((served, "data:", "blob:")) else outside.append(r.url)
                ),
            )

            async def row(table: str, text: str) -> list[str]:
                cells = await page.locator(f"#{table} tbody tr", has_text=text).first.all()
                if not cells:
                    return []
                found = await cells[0].locator("td").all_text_contents()
                return [c.strip() for c in found]

            async def caught_up() -> bool:
                await page.goto(f"{served}/public")
                await page.wait_for_selector("body[data-state=ready]", timeout=15000)
                return bool(await row("showcase", "公开测试"))

            await wait_for(caught_up, timeout=30, interval=0.5)
            name = "测试zhongyuan第401社会工作服务中心"  # the registered name, not the applied one
            assert await row("calls", "2013年中原区公开测试") == [
                "2013年中原区公开测试入孵申请通知",
                "中原区公开测试孵化基地",
                "中原区",
                "2013-02-01",
                "2013-02-28",
                "3",
                "2013-01-20",
            ]
            assert await row("notices", AGENCY) == [
                name,
                AGENCY,
                "中原区公开测试孵化基地",
                "中原区",
                "2013-02-18",
                "2013-02-22",
                "公示期满",
            ]
            assert await row("agencies", AGENCY) == [
                name,
                AGENCY,
                "中原区公开测试孵化基地",
                "中原区",
                "准予入孵",
                "2013-03-01",
                "—",
                "—",
            ]
            assert await row("credit-lists", AGENCY) == [
                name,
                AGENCY,
                "活动异常名录",
                "通过登记住所无法联系",
                "2013-06-03",
                "《社会组织信用信息管理办法》第十三条",
            ]
            assert await row("grades", AGENCY) == [
                name,
                AGENCY,
                "3A",
                "2013-05-01",
                "2018-04-30",
                "已过期",
            ]
            assert (await row("showcase", "公开测试"))[
                1
            ] == "郑州市优秀社会工作服务机构（公开测试）"
            assert SECRET not in await page.content()
            await browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert problems == []
    assert outside == []


async def test_the_public_api_needs_no_token_and_is_rate_limited(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_RATE_LIMIT_PER_MINUTE", "5")
    async with running(create_app) as client:
        answers = [await client.get("/public/api/credit-lists") for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        assert "items" in answers[0].json()
        refused = await client.get("/public/api/calls")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["type"].endswith(":too_many_requests")
        internal = await client.get("/reports/credit-listings")  # the internal API still guards
        assert internal.status_code == 401


async def test_concurrent_public_requests_share_one_fold_made_off_the_event_loop(
    service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone may call the public API: a crowd of callers must not make the service fold the
    whole log once each, nor fold it on the event loop every other request waits on."""
    folds: list[threading.Thread] = []
    fold = public_domain.fold_public

    def counted(facts: list[Any]) -> public_domain.PublicState:
        folds.append(threading.current_thread())
        return fold(facts)

    monkeypatch.setattr(public_domain, "fold_public", counted)
    async with running(create_app) as client:
        paths = ("notices", "agencies", "credit-lists", "grades", "calls", "showcase") * 3
        answers = await asyncio.gather(*(client.get(f"/public/api/{p}") for p in paths))
        assert [a.status_code for a in answers] == [200] * len(paths)
    assert len(folds) == 1
    assert folds[0] is not threading.main_thread()
