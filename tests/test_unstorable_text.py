"""A command's text the store cannot hold (NUL, lone surrogates) is refused 422 whichever way
it is checked: from the body's raw JSON bytes (the plain route's fast path, issue 12) or from the
model."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from servicekit.command_api import refuse_unstorable_text
from servicekit.http import Problem


class Named(BaseModel):
    name: str


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "a\\u0000b"}',  # NUL, only ever escaped in JSON
        b'{"name": "\\\\u0000 then a\\u0000"}',  # an escaped backslash first
    ],
)
def test_a_nul_in_the_raw_json_is_refused(raw: bytes) -> None:
    body = Named.model_validate_json(raw)
    with pytest.raises(Problem) as refused:
        refuse_unstorable_text(body, raw)
    assert refused.value.status == 422


def test_a_lone_surrogate_is_refused_from_the_model() -> None:
    raw = b'{"name": "a\\ud800"}'
    body = Named.model_validate(json.loads(raw))  # FastAPI's own reading accepts it
    with pytest.raises(Problem):
        refuse_unstorable_text(body, raw)


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "郑州 社工"}'.encode(),
        b'{"name": "\\u90d1\\u5dde"}',  # escaped CJK
        b'{"name": "\\ud83d\\ude00 \\\\u0000 as text"}',  # a pair, and a backslash-u as text
    ],
)
def test_storable_text_passes(raw: bytes) -> None:
    refuse_unstorable_text(Named.model_validate_json(raw), raw)
