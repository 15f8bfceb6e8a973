"""Who may send which registry command: the system actor (the supervision-penalties process
manager, never a token) follows a penalty, and nothing else."""

from __future__ import annotations

import pytest

from servicekit.auth import Forbidden, Principal, Role
from services.registry.authz import authorize
from services.registry.domain.commands import ReinstateAgency, SuspendAgency

USCC = "52410105MJY1234560"
SYSTEM = Principal("system:registry.supervision-penalties", Role.SYSTEM)


def test_the_process_manager_suspends_after_a_penalty() -> None:
    authorize(SYSTEM, None, SuspendAgency(uscc=USCC, reason="行政处罚"))


def test_the_system_actor_decides_nothing_else() -> None:
    with pytest.raises(Forbidden):
        authorize(SYSTEM, None, ReinstateAgency(uscc=USCC, reason="恢复"))
