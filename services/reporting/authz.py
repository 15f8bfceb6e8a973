"""Who may read reports: the city, auditors and integrators citywide; unit officers their unit."""

from __future__ import annotations

from servicekit.auth import Forbidden, Principal, Role, require_role

READERS = frozenset({Role.CITY_ADMIN, Role.AUDITOR, Role.INTEGRATOR, Role.UNIT_OFFICER})
CITYWIDE = frozenset({Role.CITY_ADMIN, Role.AUDITOR, Role.INTEGRATOR})


def readable_unit(principal: Principal, requested: str | None, action: str) -> str | None:
    """The unit the caller's read is limited to (None = citywide); Forbidden outside scope."""
    require_role(principal, READERS, action)
    if principal.role in CITYWIDE:
        return requested
    if requested is not None and requested != principal.unit:
        raise Forbidden(f"{principal.subject} may not {action} of unit {requested}")
    return principal.unit
