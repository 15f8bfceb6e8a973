"""Both apps in one event loop (registry + incubation) and the steps of the incubation cycle."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.incubation.app import create_app as create_incubation
from services.registry.app import create_app as create_registry
from tests.integration.apphost import running
from tests.support import auth, registration, uscc_for, wait_for

ALL_MET = {
    "governance_in_place": True,
    "staff_ratio_met": True,
    "annual_inspection_passed": True,
    "exit_assessment_passed": True,
}


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    registry: httpx.AsyncClient
    incubation: httpx.AsyncClient
    base_id: str = field(default_factory=new_id)
    call_id: str = field(default_factory=new_id)

    async def command(
        self, name: str, body: dict[str, Any], *, key: str | None = None, **scope: Any
    ) -> httpx.Response:
        headers = auth(**scope) if scope else auth()
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.incubation.post(f"/commands/{name}", json=body, headers=headers)

    async def ok(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.command(name, body)
        assert response.status_code == 201, (name, response.text)
        result: dict[str, Any] = response.json()
        return result

    async def register(self, unit: str = "jinshui", code: str = "410105") -> str:
        """Register an agency in the registry and wait until the incubation service knows it."""
        body = registration(0, unit=unit, unit_code=code)
        body["uscc"] = uscc_for(random.randint(10**8, 31**9 - 1), unit_code=code)
        response = await self.registry.post("/commands/register-agency", json=body, headers=auth())
        assert response.status_code == 201, response.text
        await self.known(body["uscc"], "active")
        return str(body["uscc"])

    async def known(self, uscc: str, status: str) -> None:
        async def seen() -> bool:
            found = await self.incubation.get(f"/agencies/{uscc}", headers=auth())
            return found.status_code == 200 and found.json()["status"] == status

        await wait_for(seen)

    async def base(self, places: int = 2, unit: str = "jinshui") -> None:
        await self.ok(
            "establish-base",
            {
                "base_id": self.base_id,
                "name": "金水区社工机构孵化基地",
                "level": "county",
                "reporting_unit": unit,
                "address": "郑州市金水区纬五路21号",
                "supervising_department": "金水区民政局",
                "operator": "恒善社会工作服务中心",
                "purchase_contract": "JSMZ-GMFW-2023-017",
                "offices": [
                    {"office_id": "301", "area_m2": "18.50"},
                    {"office_id": "302", "area_m2": "16"},
                    {"office_id": "305", "area_m2": "62", "shared_room": True},
                ],
                "has_desks_and_chairs": True,
                "has_projector": True,
                "fire_safety_compliant": True,
                "established_on": "2023-03-01",
            },
        )
        await self.ok(
            "adopt-admission-standard",
            {
                "base_id": self.base_id,
                "version": 1,
                "requirements": ["金水区登记的初创社工机构"],
                "agreement_template": "JSMZ-FHXY-2023-v1",
                "effective_from": "2023-03-15",
            },
        )
        await self.ok(
            "publish-call",
            {
                "base_id": self.base_id,
                "call_id": self.call_id,
                "title": "2023年入孵申请通知",
                "opens_on": "2023-04-01",
                "closes_on": "2023-04-30",
                "places": places,
                "published_on": "2023-03-25",
            },
        )

    async def apply(self, uscc: str, **extra: Any) -> str:
        incubation_id = new_id()
        await self.ok(
            "submit-application",
            {
                "incubation_id": incubation_id,
                "base_id": self.base_id,
                "call_id": self.call_id,
                "uscc": uscc,
                "submitted_on": "2023-04-10",
                **extra,
            },
        )
        return incubation_id

    async def review(self, incubation_id: str) -> None:
        for day, stage in enumerate(("intake", "first_review", "panel_review", "public_notice")):
            await self.ok(
                "review-application",
                {
                    "incubation_id": incubation_id,
                    "stage": stage,
                    "opinion": "通过",
                    "reviewed_on": f"2023-05-{day + 10}",
                },
            )

    def approval(self, incubation_id: str) -> dict[str, Any]:
        return {"incubation_id": incubation_id, "opinion": "准予入孵", "approved_on": "2023-06-01"}

    def agreement(self, incubation_id: str, office: str) -> dict[str, Any]:
        return {
            "incubation_id": incubation_id,
            "agreement_id": new_id(),
            "office_id": office,
            "term_start": "2023-07-03",
            "term_end": "2024-07-02",
            "signed_on": "2023-06-20",
        }

    async def admit(self, uscc: str, office: str) -> str:
        incubation_id = await self.apply(uscc)
        await self.review(incubation_id)
        await self.ok("approve-application", self.approval(incubation_id))
        await self.ok("sign-agreement", self.agreement(incubation_id, office))
        await self.ok(
            "start-incubation", {"incubation_id": incubation_id, "started_on": "2023-07-03"}
        )
        return incubation_id

    async def status(self, incubation_id: str) -> str:
        found = await self.incubation.get(f"/incubations/{incubation_id}", headers=auth())
        assert found.status_code == 200, found.text
        return str(found.json()["status"])


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    """Registry and incubation apps, same broker, same test database (separate schemas)."""
    async with running(create_registry) as registry, running(create_incubation) as incubation:
        yield World(registry, incubation)
