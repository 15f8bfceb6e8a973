"""Reference data shipped with the contracts: localities and classifications, versioned as data."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

LocalityKind = Literal["district", "functional_zone", "county_city", "county"]
TargetClass = Literal["district_zone", "county"]


class Locality(BaseModel):
    """One of the city's reporting units (统计单位)."""

    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    kind: LocalityKind
    target: TargetClass
    county_code: str | None
    valid_from: dt.date
    valid_to: dt.date | None

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Classification(BaseModel):
    """A service field (服务领域) or target group (服务对象)."""

    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    priority: bool


def _load(name: str) -> Any:
    text = (
        resources.files("socialwork_contracts").joinpath("reference_data", name).read_text("utf-8")
    )
    return json.loads(text)


@cache
def localities() -> tuple[Locality, ...]:
    return tuple(Locality.model_validate(x) for x in _load("localities.json")["localities"])


@cache
def service_fields() -> tuple[Classification, ...]:
    items = _load("classifications.json")["service_fields"]
    return tuple(Classification.model_validate(x) for x in items)


@cache
def target_groups() -> tuple[Classification, ...]:
    items = _load("classifications.json")["target_groups"]
    return tuple(Classification.model_validate(x) for x in items)


def locality(locality_id: str) -> Locality:
    """The reporting unit with this id; KeyError if unknown."""
    for item in localities():
        if item.id == locality_id:
            return item
    raise KeyError(locality_id)


def county_code_of(locality_id: str) -> str | None:
    return locality(locality_id).county_code


class IncubationPolicy(BaseModel):
    """A dated version of the incubation term and inactivity policy (reference data)."""

    model_config = ConfigDict(frozen=True)
    effective_from: dt.date
    term_months: int  # 默认孵化期限（月）, when an agreement names no end
    inactivity_days: int  # 长期未开展活动: days without any recorded activity
    source: str


@cache
def incubation_policies() -> tuple[IncubationPolicy, ...]:
    items = _load("incubation_policy.json")["versions"]
    found = tuple(IncubationPolicy.model_validate(x) for x in items)
    return tuple(sorted(found, key=lambda p: p.effective_from))


def incubation_policy_on(day: dt.date) -> IncubationPolicy:
    """The version in force on `day` (the earliest one before any is in force)."""
    versions = incubation_policies()
    in_force = [p for p in versions if p.effective_from <= day]
    return in_force[-1] if in_force else versions[0]
