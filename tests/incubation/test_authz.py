"""Who may send which command (services/incubation/authz.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from servicekit.auth import Forbidden, Principal, Role
from services.incubation.authz import ReadScope, authorize, read_scope, require_readable
from services.incubation.domain.commands import (
    ApproveApplication,
    RecordTraining,
    ReviewApplication,
    TerminateIncubation,
)
from tests.incubation.given import BASE_ID, INC_ID, D, establish, ready_base

BASE = ready_base()
TRAINING = RecordTraining(
    base_id=BASE_ID, session_id="s", title="t", held_on=D(2023, 5, 1), hours=Decimal(1), attendees=1
)
APPROVE = ApproveApplication(incubation_id=INC_ID, opinion="ok", approved_on=D(2023, 6, 1))


def review(stage: str) -> ReviewApplication:
    return ReviewApplication.model_validate(
        {"incubation_id": INC_ID, "stage": stage, "opinion": "ok", "reviewed_on": "2023-05-01"}
    )


def test_city_admin_may_do_anything() -> None:
    authorize(Principal("a", Role.CITY_ADMIN), BASE, APPROVE)


def test_unit_officer_only_in_the_base_unit() -> None:
    authorize(Principal("u", Role.UNIT_OFFICER, unit="jinshui"), BASE, APPROVE)
    authorize(Principal("u", Role.UNIT_OFFICER, unit="jinshui"), None, establish())
    with pytest.raises(Forbidden):
        authorize(Principal("u", Role.UNIT_OFFICER, unit="erqi"), BASE, APPROVE)
    with pytest.raises(Forbidden):
        authorize(Principal("u", Role.UNIT_OFFICER, unit="erqi"), None, establish())


def test_base_operator_records_on_its_own_base_but_does_not_decide() -> None:
    own = Principal("o", Role.BASE_OPERATOR, base=BASE_ID)
    authorize(own, BASE, TRAINING)
    authorize(own, BASE, review("intake"))
    for decision in (APPROVE, review("panel_review")):
        with pytest.raises(Forbidden):
            authorize(own, BASE, decision)
    with pytest.raises(Forbidden):
        authorize(Principal("o", Role.BASE_OPERATOR, base="other"), BASE, TRAINING)
    with pytest.raises(Forbidden):
        authorize(own, None, establish())


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.INTEGRATOR])
def test_readers_write_nothing(role: Role) -> None:
    with pytest.raises(Forbidden):
        authorize(Principal("r", role), BASE, TRAINING)


def test_the_system_role_only_terminates() -> None:
    system = Principal("system:pm", Role.SYSTEM)
    authorize(
        system,
        BASE,
        TerminateIncubation(
            incubation_id=INC_ID, reason="inactivity", detail="x", terminated_on=D(2024, 1, 1)
        ),
    )
    with pytest.raises(Forbidden):
        authorize(system, BASE, APPROVE)


def test_read_scopes_by_role() -> None:
    officer = Principal("o", Role.UNIT_OFFICER, unit="jinshui")
    operator = Principal("b", Role.BASE_OPERATOR, base=BASE_ID)
    assert read_scope(Principal("c", Role.CITY_ADMIN), "read") == ReadScope()
    assert read_scope(Principal("a", Role.AUDITOR), "read") == ReadScope()
    assert read_scope(officer, "read") == ReadScope(unit="jinshui")
    assert read_scope(operator, "read") == ReadScope(base=BASE_ID)
    with pytest.raises(Forbidden):
        read_scope(Principal("i", Role.INTEGRATOR), "read")


def test_a_named_base_outside_the_read_scope_is_forbidden() -> None:
    require_readable(ReadScope(), "any", "erqi", "read")
    require_readable(ReadScope(unit="jinshui"), "b1", "jinshui", "read")
    require_readable(ReadScope(unit="jinshui"), "unknown", None, "read")  # left to the 404
    require_readable(ReadScope(base=BASE_ID), BASE_ID, "jinshui", "read")
    with pytest.raises(Forbidden):
        require_readable(ReadScope(unit="jinshui"), "b2", "erqi", "read")
    with pytest.raises(Forbidden):
        require_readable(ReadScope(base=BASE_ID), "other", "jinshui", "read")
