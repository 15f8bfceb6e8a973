"""Upcasters: (type, from_version) -> function giving the payload of from_version + 1.

Rule (see contracts/README.md): within a version only additive, optional changes; anything else is
a new version, and the old one gets an upcaster here so stored history still loads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from socialwork_contracts.reference import county_code_of

Payload = dict[str, Any]


def _agency_registered_v1_to_v2(data: Payload) -> Payload:
    # v1 stored one `locality`; v2 keeps the reporting unit and the GB/T 2260 county apart,
    # because functional zones (e.g. the airport zone) are not counties.
    upgraded = {k: v for k, v in data.items() if k != "locality"}
    upgraded["reporting_unit"] = data["locality"]
    upgraded["county_code"] = county_code_of(data["locality"])
    upgraded.setdefault("sponsor", None)
    return upgraded


UPCASTERS: dict[tuple[str, int], Callable[[Payload], Payload]] = {
    ("AgencyRegistered", 1): _agency_registered_v1_to_v2,
}
