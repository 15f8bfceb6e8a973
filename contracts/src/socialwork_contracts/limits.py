"""Bounds on the text a caller may send, shared by every service's commands.

Kafka refuses a record over 1 MB, and one refused event would stop its topic, so nothing a caller
sends may grow an event that far: every free-text field of a command is bounded here, and each
request body is bounded by the services (`HTTP_MAX_BODY_BYTES`, 256 KiB by default).

Only commands validate these. Event models never do: an event stored before a bound was set (or
tightened) must always load again.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

ID_MAX_LENGTH = 100  # ids and codes: uscc, UUIDs, reporting units, ids from a list
NAME_MAX_LENGTH = 200  # names, titles, addresses, people, departments, document numbers
TEXT_MAX_LENGTH = 4000  # reasons, descriptions, facts, opinions, charter text, legal bases
LIST_MAX_ITEMS = 50  # entries in one list of ids


def _at_most(limit: int) -> AfterValidator:
    # Counted in Python rather than with Field(max_length): pydantic-core's length check refuses
    # a lone surrogate as "not a string", which would hide the services' pointed refusal of
    # characters that cannot be stored.
    def check(value: str) -> str:
        if len(value) > limit:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": limit},
            )
        return value

    return AfterValidator(check)


def _schema(limit: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "maxLength": limit})


BoundedId = Annotated[str, _at_most(ID_MAX_LENGTH), _schema(ID_MAX_LENGTH)]
BoundedName = Annotated[str, _at_most(NAME_MAX_LENGTH), _schema(NAME_MAX_LENGTH)]
BoundedText = Annotated[str, _at_most(TEXT_MAX_LENGTH), _schema(TEXT_MAX_LENGTH)]
BoundedIds = Annotated[tuple[BoundedId, ...], Field(max_length=LIST_MAX_ITEMS)]
