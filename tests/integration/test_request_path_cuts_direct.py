"""The direct path's cheaper reading (issue 12, branch write5) keeps what a refusal logs: the
caller read from the scope, the bearer token read without FastAPI's model, and each request's
correlation id bound for its own lines only (bound and reset by token)."""

from __future__ import annotations

import logging

import httpx
import pytest

from servicekit.auth import Role
from tests.integration.test_command_direct import learned, unrouted
from tests.integration.test_command_request import JSON, REGISTER, body, forged
from tests.integration.test_edge_security import Collected, collected
from tests.support import auth

pytestmark = pytest.mark.infra
__all__ = ["collected", "learned", "unrouted"]  # fixtures used here


@pytest.mark.usefixtures("unrouted")
async def test_a_direct_refusal_names_its_caller_and_its_own_correlation_id(
    learned: httpx.AsyncClient, collected: Collected
) -> None:
    logging.getLogger().addHandler(collected)  # after the lifespan configured logging
    outside = auth(Role.UNIT_OFFICER, unit="erqi", sub="officer-7")
    forbidden = await learned.post(
        REGISTER, content=body(2), headers={**outside, **JSON, "X-Correlation-ID": "c-1"}
    )
    assert forbidden.status_code == 403, forbidden.text
    for scheme in ("Bearer", "bearer", "Basic"):  # not a bearer token: none given
        token = forged()["Authorization"].partition(" ")[2]
        unauthenticated = await learned.post(
            REGISTER, content=body(3), headers={"Authorization": f"{scheme} {token}", **JSON}
        )
        assert unauthenticated.status_code == 401, unauthenticated.text

    first, *others = collected.named("security.refused")
    assert (first["status"], first["subject"], first["role"]) == (403, "officer-7", "unit_officer")
    assert first["correlation_id"] == "c-1" and first["client"] == "127.0.0.1"
    assert [(o["status"], o["subject"]) for o in others] == [(401, None)] * 3
    assert [o["reason"] for o in others][2] == "missing bearer token"
    ids = [o["correlation_id"] for o in others]
    assert "c-1" not in ids and len(set(ids)) == 3
