"""Stored ids of client commands (servicekit.commands.client_command_id)."""

from __future__ import annotations

from servicekit.commands import client_command_id


def test_a_client_key_is_scoped_by_caller_and_route() -> None:
    assert client_command_id("li", "register-agency", "k") == "client:li:register-agency:k"
    assert client_command_id("li", "register-agency", None) is None
    assert client_command_id("li", "register-agency", "k") != client_command_id(
        "wang", "register-agency", "k"
    )
    assert client_command_id("li", "register-agency", "k") != client_command_id(
        "li", "suspend-agency", "k"
    )


def test_a_colon_in_the_subject_cannot_pose_as_another_callers_key() -> None:
    crafted = client_command_id("li:register-agency:x", "register-agency", "k")
    assert crafted != client_command_id("li", "register-agency", "x:register-agency:k")
    assert crafted == "client:li%3Aregister-agency%3Ax:register-agency:k"
    assert client_command_id("a%3Ab", "r", "k") != client_command_id("a:b", "r", "k")
