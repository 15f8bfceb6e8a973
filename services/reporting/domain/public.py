"""What the public channel shows (公示, 信息共享, 成果展示; issue 11 §5), folded from the facts.

Only what may be public: the names of admitted agencies with their base and dates, the credit
lists with their grounds, dates and legal basis (never the free-text detail), evaluation grades
with their validity, published calls, and commendations (the showcase). No token is needed to
read any of it, so nothing here names a person, an amount or a reason an officer typed freely.
Pure: facts in, rows out; the as-of day comes from the caller.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from socialwork_contracts import incubation as inc
from socialwork_contracts import registry as reg
from socialwork_contracts import supervision as sup
from socialwork_contracts.catalog import UnknownEventType, load
from socialwork_contracts.reference import localities

from services.reporting.domain.facts import Fact
from services.reporting.domain.state import sort_key

LIST_ZH = {"abnormal": "活动异常名录", "serious": "严重违法失信名单"}
GROUND_ZH = {
    "annual_report_not_filed": "未按时报送年度工作报告",
    "rectification_overdue": "逾期未整改",
    "warning_or_small_fine": "受到警告或较小数额罚款",
    "unreachable": "通过登记住所无法联系",
    "no_party_organisation": "未按规定建立党组织",
    "abnormal_two_years": "列入活动异常名录满2年",
    "suspension": "被限期停止活动",
    "large_fine": "受到较大数额罚款",
    "repeated_penalties": "3年内2次以上受到警告或较小数额罚款",
    "revoked": "被撤销登记",
    "dishonest_debtor": "失信被执行人",
    "fraudulent_change": "以欺骗等不正当手段取得变更登记",
    "other": "其他法定情形",
}
STAY_ZH = {
    "approved": "准予入孵",
    "incubating": "在孵",
    "graduated": "已出壳",
    "terminated": "已退驻",
}


@dataclass
class _Stay:
    incubation_id: str
    base_id: str
    uscc: str
    agency_name: str
    status: str = "submitted"
    approved_on: dt.date | None = None
    started_on: dt.date | None = None
    ended_on: dt.date | None = None


@dataclass
class PublicState:
    names: dict[str, str] = field(default_factory=dict)  # uscc -> registered name
    bases: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, unit)
    stays: dict[str, _Stay] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    listings: dict[str, dict[str, Any]] = field(default_factory=dict)
    grades: dict[str, dict[str, Any]] = field(default_factory=dict)  # uscc -> latest grade
    showcase: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)


def fold_public(facts: list[Fact]) -> PublicState:
    """The public state after the facts, in effective order (as the reports apply them)."""
    state = PublicState()
    for fact in sorted(facts, key=sort_key):
        try:
            event = load(fact.event_type, fact.event_version, fact.data)
        except UnknownEventType:
            continue
        _apply(state, event)
    return state


def _apply(state: PublicState, event: object) -> None:
    """Apply one event; the events the public channel does not show change nothing."""
    apply = _APPLY.get(type(event))
    if apply is not None:
        apply(state, event)


def _registered(state: PublicState, event: reg.AgencyRegistered) -> None:
    state.names[event.uscc] = event.name


def _amended(state: PublicState, event: reg.AgencyProfileAmended) -> None:
    if event.name is not None:
        state.names[event.uscc] = event.name


def _base(state: PublicState, event: inc.BaseEstablished) -> None:
    state.bases[event.base_id] = (event.name, event.reporting_unit)


def _call(state: PublicState, event: inc.CallPublished) -> None:
    state.calls.append(
        {
            "base_id": event.base_id,
            "call_id": event.call_id,
            "title": event.title,
            "opens_on": event.opens_on,
            "closes_on": event.closes_on,
            "places": event.places,
            "published_on": event.published_on,
        }
    )


def _submitted(state: PublicState, event: inc.ApplicationSubmitted) -> None:
    state.stays[event.incubation_id] = _Stay(
        event.incubation_id, event.base_id, event.uscc, event.agency_name
    )


def _approved(state: PublicState, event: inc.ApplicationApproved) -> None:
    if (s := state.stays.get(event.incubation_id)) is not None:
        s.status, s.approved_on = "approved", event.approved_on


def _started(state: PublicState, event: inc.IncubationStarted) -> None:
    # A history may hold the move-in without its application (recorded elsewhere).
    s = state.stays.setdefault(
        event.incubation_id, _Stay(event.incubation_id, event.base_id, event.uscc, event.uscc)
    )
    s.status, s.started_on = "incubating", event.started_on


def _graduated(state: PublicState, event: inc.AgencyGraduated) -> None:
    if (s := state.stays.get(event.incubation_id)) is not None:
        s.status, s.ended_on = "graduated", event.graduated_on


def _terminated(state: PublicState, event: inc.IncubationTerminated) -> None:
    if (s := state.stays.get(event.incubation_id)) is not None:
        s.status, s.ended_on = "terminated", event.terminated_on


def _notice(state: PublicState, event: inc.PublicNoticeOpened) -> None:
    state.notices.append(
        {
            "incubation_id": event.incubation_id,
            "base_id": event.base_id,
            "uscc": event.uscc,
            "agency_name": event.agency_name,
            "starts_on": event.starts_on,
            "ends_on": event.ends_on,
        }
    )


def _linked(state: PublicState, event: inc.IncubationIdentityLinked) -> None:
    if (s := state.stays.get(event.incubation_id)) is not None:
        s.uscc = event.uscc


def _listed(state: PublicState, event: sup.AgencyListed) -> None:
    state.listings[event.listing_id] = {
        "uscc": event.uscc,
        "list": event.list,
        "ground": event.ground,
        "legal_basis": event.legal_basis,
        "listed_on": event.listed_on,
    }


def _delisted(state: PublicState, event: sup.AgencyDelisted) -> None:
    state.listings.pop(event.listing_id, None)


def _graded(state: PublicState, event: sup.EvaluationGradeAwarded) -> None:
    state.grades[event.uscc] = {
        "uscc": event.uscc,
        "grade": event.grade,
        "announced_on": event.announced_on,
        "valid_from": event.valid_from,
        "valid_to": event.valid_to,
    }


def _commended(state: PublicState, event: sup.CommendationRecorded) -> None:
    state.showcase.append(
        {
            "uscc": event.uscc,
            "title": event.title,
            "awarding_body": event.awarding_body,
            "document_number": event.document_number,
            "awarded_on": event.awarded_on,
        }
    )


_APPLY: dict[type, Callable[[PublicState, Any], None]] = {
    reg.AgencyRegistered: _registered,
    reg.AgencyProfileAmended: _amended,
    inc.BaseEstablished: _base,
    inc.CallPublished: _call,
    inc.ApplicationSubmitted: _submitted,
    inc.ApplicationApproved: _approved,
    inc.IncubationStarted: _started,
    inc.AgencyGraduated: _graduated,
    inc.IncubationTerminated: _terminated,
    inc.PublicNoticeOpened: _notice,
    inc.IncubationIdentityLinked: _linked,
    sup.AgencyListed: _listed,
    sup.AgencyDelisted: _delisted,
    sup.EvaluationGradeAwarded: _graded,
    sup.CommendationRecorded: _commended,
}


def _unit_name(unit: str) -> str:
    return {x.id: x.name for x in localities()}.get(unit, unit)


def _public_code(code: str) -> str | None:
    """A credit code is public; a group's provisional id (a UUID) is not a code: shown as none."""
    try:
        uuid.UUID(code)
    except ValueError:
        return code
    return None


def _name(state: PublicState, uscc: str, fallback: str | None = None) -> str:
    return state.names.get(uscc) or fallback or uscc


def admitted(state: PublicState) -> list[dict[str, Any]]:
    """入孵公示: every admission and what became of it (refusals and pending ones are not shown)."""
    rows = []
    for s in state.stays.values():
        if s.status not in STAY_ZH:
            continue
        base_name, unit = state.bases.get(s.base_id, (s.base_id, ""))
        rows.append(
            {
                "agency_name": _name(state, s.uscc, s.agency_name),
                "uscc": _public_code(s.uscc),
                "base_name": base_name,
                "reporting_unit": _unit_name(unit),
                "status": STAY_ZH[s.status],
                "approved_on": s.approved_on,
                "started_on": s.started_on,
                "ended_on": s.ended_on,
            }
        )
    return sorted(rows, key=lambda r: (r["approved_on"] or dt.date.min, r["agency_name"]))


def credit_lists(state: PublicState) -> list[dict[str, Any]]:
    """信用名录: who is on each list now, on what ground, from when, under which provisions."""
    rows = [
        {
            "agency_name": _name(state, x["uscc"]),
            "uscc": x["uscc"],
            "list": LIST_ZH.get(x["list"], x["list"]),
            "ground": GROUND_ZH.get(x["ground"], x["ground"]),
            "legal_basis": x["legal_basis"],
            "listed_on": x["listed_on"],
        }
        for x in state.listings.values()
    ]
    return sorted(rows, key=lambda r: (r["list"], r["listed_on"], r["uscc"]))


def grades(state: PublicState, as_of: dt.date) -> list[dict[str, Any]]:
    """评估等级: the latest grade of each agency, shown as expired once past its validity, and
    as suspended while the agency is on the serious list (supervision's default grade rule,
    `GradePolicy.on_serious_listing`; the committee's later decision is a new grade)."""
    serious = {x["uscc"] for x in state.listings.values() if x["list"] == "serious"}
    rows = []
    for g in state.grades.values():
        valid = g["valid_from"] <= as_of <= g["valid_to"]
        status = "有效" if valid else ("已过期" if as_of > g["valid_to"] else "未生效")
        if valid and g["uscc"] in serious:
            status = "暂停（列入严重违法失信名单）"
        rows.append(
            {
                "agency_name": _name(state, g["uscc"]),
                "uscc": g["uscc"],
                "grade": f"{g['grade']}A",
                "valid_from": g["valid_from"],
                "valid_to": g["valid_to"],
                "status": status,
            }
        )
    return sorted(rows, key=lambda r: (-int(r["grade"][0]), r["agency_name"]))


def calls(state: PublicState) -> list[dict[str, Any]]:
    """申请通知: every published call, newest first, with its base."""
    rows = []
    for c in state.calls:
        base_name, unit = state.bases.get(c["base_id"], (c["base_id"], ""))
        rows.append({**c, "base_name": base_name, "reporting_unit": _unit_name(unit)})
    return sorted(rows, key=lambda r: (r["published_on"], r["call_id"]), reverse=True)


def showcase(state: PublicState) -> list[dict[str, Any]]:
    """成果展示: commendations of agencies (优秀机构), newest first."""
    rows = [{**s, "agency_name": _name(state, s["uscc"])} for s in state.showcase]
    return sorted(rows, key=lambda r: (r["awarded_on"], r["uscc"]), reverse=True)


def notices(state: PublicState, as_of: dt.date) -> list[dict[str, Any]]:
    """入孵公示: each admission's public notice with its window, open ones first (objections are
    received by civil affairs and are not published)."""
    rows = []
    for n in state.notices:
        base_name, unit = state.bases.get(n["base_id"], (n["base_id"], ""))
        if as_of < n["starts_on"]:
            continue  # announced ahead: shown from its first day
        rows.append(
            {
                "agency_name": _name(state, n["uscc"], n["agency_name"]),
                "uscc": _public_code(n["uscc"]),
                "base_name": base_name,
                "reporting_unit": _unit_name(unit),
                "starts_on": n["starts_on"],
                "ends_on": n["ends_on"],
                "status": "公示中" if as_of <= n["ends_on"] else "公示期满",
            }
        )
    return sorted(rows, key=lambda r: (r["status"] != "公示中", r["starts_on"]), reverse=False)
