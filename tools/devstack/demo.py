"""Demo data, loaded through the services' public HTTP APIs (the same path a user takes).

Every command carries an idempotency key, so loading the demo twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from socialwork_contracts.uscc import CHARSET

from devstack.demo_guidance import guidance_demo
from devstack.demo_incubation import incubation_demo
from devstack.demo_supervision import supervision_demo
from servicekit.auth import Role, TokenSettings, issue_token
from services.registry.domain.uscc import with_check_character

# (reporting unit, division code of the registering authority, agency name)
AGENCIES: tuple[tuple[str, str, str], ...] = (
    ("zhongyuan", "410102", "郑州市中原区绿城社会工作服务中心"),
    ("zhongyuan", "410102", "郑州市中原区邻里守望社会工作服务中心"),
    ("erqi", "410103", "郑州市二七区同心社会工作服务中心"),
    ("erqi", "410103", "郑州市二七区阳光家园社会工作服务社"),
    ("guancheng", "410104", "郑州市管城回族区和睦社会工作服务中心"),
    ("jinshui", "410105", "郑州市金水区启航青少年社会工作服务中心"),
    ("jinshui", "410105", "郑州市金水区夕阳红养老社会工作服务中心"),
    ("jinshui", "410105", "郑州市金水区助残社会工作服务中心"),
    ("shangjie", "410106", "郑州市上街区善邻社会工作服务中心"),
    ("huiji", "410108", "郑州市惠济区黄河社会工作服务中心"),
    ("zhengdong", "410100", "郑州郑东新区融合社区社会工作服务中心"),
    ("jingkai", "410100", "郑州经开区职工帮扶社会工作服务中心"),
    ("gaoxin", "410100", "郑州高新区创新社会工作服务中心"),
    ("hangkonggang", "410100", "郑州航空港区安居社会工作服务中心"),
    ("gongyi", "410181", "巩义市康宁社会工作服务中心"),
    ("xingyang", "410182", "荥阳市乡村振兴社会工作服务中心"),
    ("xinmi", "410183", "新密市暖心社会工作服务中心"),
    ("xinzheng", "410184", "新郑市关爱留守儿童社会工作服务中心"),
    ("dengfeng", "410185", "登封市嵩山社会工作服务中心"),
    ("zhongmou", "410122", "中牟县惠民社会工作服务中心"),
)
FIELDS = (
    ("community_service", "elderly"),
    ("correction_rehabilitation", "youth"),
    ("marriage_family", "children"),
    ("mental_health", "general_public"),
    ("poverty_relief", "rural_left_behind"),
)


def demo_uscc(index: int, division: str) -> str:
    serial = "".join(CHARSET[(index * 7 + k) % len(CHARSET)] for k in range(8))
    return with_check_character(f"52{division}MJ{serial[:7]}")


@dataclass
class DemoContext:
    """What each service's demo step gets: URLs, tokens, a poster, and what earlier steps made."""

    urls: dict[str, str]
    secret: str
    agencies: list[tuple[str, str]] = field(default_factory=list)  # (uscc, reporting unit)

    def token(
        self, role: Role = Role.CITY_ADMIN, *, unit: str | None = None, base: str | None = None
    ) -> str:
        settings = TokenSettings(self.secret, "socialwork-dev", "socialwork")
        now = dt.datetime.now(dt.UTC)
        return issue_token(
            settings, subject="demo-loader", role=role, unit=unit, base=base, now=now
        )

    def post(self, service: str, command: str, key: str, body: dict[str, Any]) -> int:
        """POST a command with an idempotency key (so a second demo load changes nothing)."""
        return _post(f"{self.urls[service]}/commands/{command}", self.token(), key, body)


def _post(url: str, token: str, key: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"demo step {key} refused: {exc.code} {exc.read().decode()}") from exc


def load_demo(urls: dict[str, str], secret: str) -> None:
    """Run every service's demo step in order; later steps build on earlier ones."""
    context = DemoContext(urls, secret)
    for step in STEPS:
        step(context)


def registry_demo(context: DemoContext) -> None:
    usccs: list[str] = []
    for i, (unit, division, name) in enumerate(AGENCIES):
        field, group = FIELDS[i % len(FIELDS)]
        registered_on = dt.date(2017, 3, 1) + dt.timedelta(days=73 * i)
        uscc = demo_uscc(i, division)
        usccs.append(uscc)
        context.agencies.append((uscc, unit))
        full_time = 3 + i % 5
        context.post(
            "registry",
            "register-agency",
            f"demo-register-{i}",
            {
                "uscc": uscc,
                "name": name,
                "kind": "service_agency",
                "reporting_unit": unit,
                "address": f"{name[:6]}某街道 {i + 1} 号",
                "legal_representative": ["王芳", "李强", "张敏", "刘洋", "陈静"][i % 5],
                "charter_purpose": "运用社会工作专业方法，服务社区居民，促进社会和谐",
                "charter_scope": "社区服务、个案辅导、小组活动、志愿者培育",
                "charter_method": "个案工作、小组工作、社区工作",
                "full_time_staff": full_time,
                "qualified_staff": -(-full_time // 3),
                "service_fields": [field],
                "target_groups": [group],
                "registered_on": registered_on.isoformat(),
                "occurred_at": f"{registered_on.isoformat()}T10:00:00+08:00",
            },
        )
    later: list[tuple[str, dict[str, Any], str]] = [
        (
            "change-agency-staff",
            {"uscc": usccs[5], "full_time_staff": 9, "qualified_staff": 4},
            "2019-06-01",
        ),
        (
            "amend-agency-profile",
            {"uscc": usccs[6], "amended_on": "2019-09-10", "address": "郑州市金水区农业路 18 号"},
            "2019-09-10",
        ),
        (
            "suspend-agency",
            {
                "uscc": usccs[9],
                "reason": "年检不合格，限期整改",
                "until": "2020-03-31",
                "decision_document": "惠民社〔2020〕1号",
            },
            "2020-01-15",
        ),
        ("reinstate-agency", {"uscc": usccs[9], "reason": "整改完成"}, "2020-04-01"),
        (
            "revoke-agency-registration",
            {
                "uscc": usccs[3],
                "reason": "转租孵化场地且拒不整改",
                "decision_document": "郑民罚〔2020〕3号",
                "legal_basis": "《民办非企业单位登记管理暂行条例》第二十五条",
            },
            "2020-06-20",
        ),
        ("deregister-agency", {"uscc": usccs[16], "reason": "理事会决议自行解散"}, "2020-10-08"),
    ]
    for step, (command, body, day) in enumerate(later):
        context.post(
            "registry",
            command,
            f"demo-step-{step}",
            {**body, "occurred_at": f"{day}T09:30:00+08:00"},
        )
    print(f"demo: {len(AGENCIES)} agencies registered, {len(later)} later facts recorded")


# Each service adds its step here, in dependency order (registry first).
STEPS: list[Callable[[DemoContext], None]] = [
    registry_demo,
    incubation_demo,
    supervision_demo,
    guidance_demo,
]
