"""The registry's request path made cheaper (issue 12, branch write5): each shortcut answers
exactly what the general way it replaces answers."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import cast

import pytest
from fastapi.security import HTTPBearer
from pydantic import create_model
from socialwork_contracts.uscc import CHARSET, WEIGHTS, check_character
from starlette.requests import Request

from benchmarks.bench_write import write_bodies
from servicekit.command_api import Timed, command_from
from servicekit.http import bearer_token
from servicekit.randomness import random_id
from services.registry.domain import commands as cmd
from services.registry.domain.uscc import is_zhengzhou_division


def test_a_command_built_from_its_body_is_the_one_model_construct_builds(tmp_path: Path) -> None:
    write_bodies(tmp_path / "bodies", 1, 1)  # what the benchmark sends
    request_model = create_model("Request", __base__=(cmd.RegisterAgency, Timed))
    body = cast(Timed, request_model.model_validate_json((tmp_path / "bodies").read_bytes()))
    built = command_from(cmd.RegisterAgency, body)
    expected = cmd.RegisterAgency.model_construct(
        **{name: getattr(body, name) for name in cmd.RegisterAgency.model_fields}
    )
    assert type(built) is cmd.RegisterAgency
    assert built == expected
    assert built.model_fields_set == expected.model_fields_set
    assert built.model_dump(mode="json") == expected.model_dump(mode="json")
    assert "occurred_at" not in built.model_dump()


def _reference_check_character(first17: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def test_the_check_character_is_gb_32100s_weighted_sum() -> None:
    chooser = random.Random(12)
    for _ in range(2000):
        first17 = "".join(chooser.choice(CHARSET) for _ in range(17))
        assert check_character(first17) == _reference_check_character(first17)
    for bad in ("I" * 17, "5" * 16, "5" * 18, "a" * 17):
        with pytest.raises(ValueError, match="need 17 characters"):
            check_character(bad)


@pytest.mark.parametrize(
    ("division", "inside"),
    [("410105", True), ("410200", False), ("4101０5", False), ("41010", False), ("4101¹5", False)],
)
def test_a_zhengzhou_division_is_six_ascii_digits_from_4101(division: str, inside: bool) -> None:
    assert is_zhengzhou_division(division) is inside


def test_a_random_id_is_a_version_4_uuids_text() -> None:
    ids = {random_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer abc", "bearer abc", "BEARER  abc ", "Basic abc", "Bearer", "Bearer ",
     " Bearer abc", "Bearerabc", "Bearer a b"],
)  # fmt: skip
async def test_the_bearer_token_is_read_as_fastapis_bearer_reads_it(
    authorization: str | None,
) -> None:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    request = Request({"type": "http", "headers": headers})
    credentials = await HTTPBearer(auto_error=False)(request)
    expected = None if credentials is None else credentials.credentials
    assert bearer_token(request) == expected
