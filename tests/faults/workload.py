"""The commands of one burst: valid, spread over the three writing services, several per stream.

- registry: register an agency, then change its staff (streams of two events);
- incubation: establish a base, then update its facilities;
- supervision: commendations on agencies registered beforehand (supervision must know an
  agency from the registry topic first), and on some a suspension penalty, which the registry
  (and incubation) react to: a process manager's effect that can be counted exactly.

Chains touch disjoint streams, so no two clients ever race on one stream: any 409 is a defect.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from dataclasses import dataclass

from tests.faults.load import Command
from tests.support import registration, uscc_for

COMMENDATIONS_PER_SEED = 4
SEEDS = 12
PENALISED_SEEDS = 4
BASES = 30


@dataclass(frozen=True)
class Workload:
    seeds: list[list[Command]]  # registrations supervision must know before the burst
    chains: list[list[Command]]  # the burst
    seed_usccs: list[str]
    penalised: list[str]  # seeds suspended by a penalty (registry must follow, once)

    @property
    def burst_size(self) -> int:
        return sum(len(chain) for chain in self.chains)


# Issue 9 asks for bursts of at least 2,000 commands; FAULTS_BURST shortens a local run.
BURST = int(os.environ.get("FAULTS_BURST", "2000"))


def build(scenario: str, *, total: int = BURST, seed: int = 9) -> Workload:
    """About `total` burst commands, shuffled so every service is busy throughout."""
    slug = re.sub(r"[^a-z0-9]+", "-", scenario.lower()).strip("-")
    serial = iter(range(1_000, 10**6))

    def key(kind: str) -> str:
        return f"fault-{slug}-{kind}-{uuid.uuid4().hex[:12]}"

    seed_bodies = [registration(next(serial)) for _ in range(SEEDS)]
    seeds = [[Command("registry", "register-agency", b, key("seed"))] for b in seed_bodies]
    usccs = [str(b["uscc"]) for b in seed_bodies]
    penalised = usccs[:PENALISED_SEEDS]

    chains: list[list[Command]] = []
    for uscc in usccs:
        chain = [
            Command("supervision", "record-commendation", _commendation(uscc, n), key("praise"))
            for n in range(COMMENDATIONS_PER_SEED)
        ]
        if uscc in penalised:
            chain.append(Command("supervision", "impose-penalty", _suspension(uscc), key("pen")))
        chains.append(chain)
    for _ in range(BASES):
        base_id = str(uuid.uuid4())
        chains.append(
            [
                Command("incubation", "establish-base", _base(base_id), key("base")),
                Command("incubation", "update-facilities", _facilities(base_id), key("rooms")),
            ]
        )
    used = sum(len(c) for c in chains)
    for _ in range((total - used) // 2):
        body = registration(next(serial))
        uscc = str(body["uscc"])
        staff = {"uscc": uscc, "full_time_staff": 9, "qualified_staff": 4}
        chains.append(
            [
                Command("registry", "register-agency", body, key("reg")),
                Command("registry", "change-agency-staff", staff, key("staff")),
            ]
        )
    random.Random(seed).shuffle(chains)
    return Workload(seeds, chains, usccs, penalised)


def bad_uscc() -> str:
    """A well-formed credit code no command uses (for injected records)."""
    return uscc_for(random.randint(31**7, 31**9 - 1), unit_code="410102")


def _commendation(uscc: str, n: int) -> dict[str, object]:
    return {
        "uscc": uscc,
        "commendation_id": str(uuid.uuid4()),
        "title": f"优秀社会工作服务项目（第{n + 1}批）",
        "awarding_body": "郑州市民政局",
        "awarded_on": "2023-12-01",
    }


def _suspension(uscc: str) -> dict[str, object]:
    return {
        "uscc": uscc,
        "penalty_id": str(uuid.uuid4()),
        "kind": "suspension",
        "suspended_until": "2030-06-30",
        "document_number": f"郑民罚决字〔2024〕第{random.randint(1, 9999)}号",
        "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条",
        "deciding_department": "郑州市民政局",
        "decided_on": "2024-07-01",
    }


_OFFICES = [
    {"office_id": "301", "area_m2": "18.50"},
    {"office_id": "302", "area_m2": "16"},
    {"office_id": "305", "area_m2": "62", "shared_room": True},
]


def _base(base_id: str) -> dict[str, object]:
    return {
        "base_id": base_id,
        "name": "金水区社工机构孵化基地",
        "level": "county",
        "reporting_unit": "jinshui",
        "address": "郑州市金水区纬五路21号",
        "supervising_department": "金水区民政局",
        "operator": "恒善社会工作服务中心",
        "purchase_contract": "JSMZ-GMFW-2023-017",
        "offices": _OFFICES,
        "has_desks_and_chairs": True,
        "has_projector": True,
        "fire_safety_compliant": True,
        "established_on": "2023-03-01",
    }


def _facilities(base_id: str) -> dict[str, object]:
    return {
        "base_id": base_id,
        "offices": [*_OFFICES, {"office_id": "306", "area_m2": "20"}],
        "has_desks_and_chairs": True,
        "has_projector": True,
        "fire_safety_compliant": True,
        "updated_on": "2023-06-01",
    }
