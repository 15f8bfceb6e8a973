"""Random ids read the operating system's generator a page at a time, never twice the same."""

from __future__ import annotations

import os
import uuid
from unittest import mock

from servicekit.randomness import random_id, random_uuid

IDS = 1_000


def test_a_page_of_random_bytes_serves_many_ids() -> None:
    calls = []
    real = os.urandom

    def counted(n: int) -> bytes:
        calls.append(n)
        return real(n)

    with mock.patch("os.urandom", counted):
        ids = {random_id() for _ in range(IDS)} | {str(random_uuid()) for _ in range(IDS)}
    assert len(ids) == 2 * IDS
    assert len(calls) <= 2 * IDS * 16 // 4096 + 1  # one call a page, not one an id


def test_random_uuids_are_version_4() -> None:
    made = [random_uuid() for _ in range(IDS)]
    assert {u.version for u in made} == {4}
    assert {u.variant for u in made} == {uuid.RFC_4122}
    assert len(set(made)) == IDS


def test_a_forked_child_never_repeats_its_parents_ids() -> None:
    random_id()  # the parent holds a partly used page
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, random_id().encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    childs = os.read(read, 64).decode()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert childs != random_id()
