"""Who may call each route, per service: the role matrix's expectations (docs/auth.md and each
service's authz.py). A route missing here fails the matrix: declare who may call it."""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.auth import Role

CA, UO, BO, AUD, INT = (
    Role.CITY_ADMIN,
    Role.UNIT_OFFICER,
    Role.BASE_OPERATOR,
    Role.AUDITOR,
    Role.INTEGRATOR,
)
CALLER_ROLES = (CA, UO, BO, AUD, INT)  # every role a token can carry (not SYSTEM)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    # True: a unit officer or base operator naming something outside their unit or base is
    # refused (403); False: the route is not scoped, or filters to the caller's scope.
    scoped: bool


def rule(*roles: Role, scoped: bool = False) -> Rule:
    return Rule(frozenset(roles), scoped)


ADMIN = rule(CA)
COMMON = {
    ("GET", "/admin/dead-letters"): ADMIN,
    ("GET", "/admin/parked"): ADMIN,
    ("POST", "/admin/dead-letters/{letter_id}/redrive"): ADMIN,
    ("POST", "/admin/consumers/{name}/rebuild"): ADMIN,
    ("GET", "/streams/{stream_id}/events"): rule(CA, AUD),
    ("GET", "/metrics"): rule(),  # the scraper's METRICS_TOKEN only, never a user's JWT
}
REGISTRARS = rule(CA, UO, scoped=True)
REGISTRY_READERS = rule(CA, UO, BO, AUD)
CIVIL_AFFAIRS = rule(CA, UO, scoped=True)
AT_THE_BASE = rule(CA, UO, BO, scoped=True)  # also a base operator's, at its own base
INCUBATION_READ = rule(CA, UO, BO, AUD, scoped=True)
INCUBATION_LIST = rule(CA, UO, BO, AUD)  # filtered to the caller's scope
SUPERVISORS = rule(CA, UO, scoped=True)
REPORT_READERS = rule(CA, UO, AUD, INT)
REPORT_BY_UNIT = rule(CA, UO, AUD, INT, scoped=True)

POLICY: dict[str, dict[tuple[str, str], Rule]] = {
    "registry": {
        **{
            ("POST", f"/commands/{name}"): REGISTRARS
            for name in (
                "register-agency",
                "amend-agency-profile",
                "change-agency-staff",
                "suspend-agency",
                "reinstate-agency",
                "deregister-agency",
                "revoke-agency-registration",
            )
        },
        ("GET", "/agencies"): REGISTRY_READERS,
        ("GET", "/agencies/{uscc}"): REGISTRY_READERS,
        ("GET", "/agencies/{uscc}/history"): REGISTRY_READERS,
        **COMMON,
    },
    "incubation": {
        **{
            ("POST", f"/commands/{name}"): CIVIL_AFFAIRS
            for name in (
                "establish-base",
                "update-facilities",
                "adopt-admission-standard",
                "publish-call",
                "close-base",
                "evaluate-base",
                "record-base-funding",  # the base's own money: civil affairs' record
                "open-public-notice",
                "record-admission-objection",
                "approve-application",
                "reject-application",
                "sign-agreement",
                "extend-incubation",
                "graduate-agency",
                "terminate-incubation",
            )
        },
        **{
            ("POST", f"/commands/{name}"): AT_THE_BASE
            for name in (
                "record-training",
                "submit-application",
                "review-application",  # the generated stage is `intake`, an operator's
                "start-incubation",
                "record-support",
                "record-group-in-preparation",  # 注册协助 is the base's work
                "record-base-staff",
                "record-professional-services",
            )
        },
        ("POST", "/commands/run-scheduled-checks"): ADMIN,
        ("GET", "/groups"): INCUBATION_LIST,
        ("GET", "/bases"): INCUBATION_LIST,
        ("GET", "/bases/{base_id}"): INCUBATION_READ,
        ("GET", "/bases/{base_id}/offices"): INCUBATION_READ,
        ("GET", "/bases/{base_id}/calls"): INCUBATION_READ,
        ("GET", "/bases/{base_id}/residents"): INCUBATION_READ,
        ("GET", "/bases/{base_id}/trainings"): INCUBATION_READ,
        ("GET", "/bases/{base_id}/evaluations"): INCUBATION_READ,
        ("GET", "/incubations/{incubation_id}"): INCUBATION_READ,
        ("GET", "/applications"): INCUBATION_LIST,
        ("GET", "/agreements"): INCUBATION_LIST,
        ("GET", "/support"): INCUBATION_LIST,
        ("GET", "/services"): INCUBATION_READ,  # one named base (base_id): out of scope, 403
        ("GET", "/agencies/{uscc}"): INCUBATION_LIST,
        **COMMON,
    },
    "supervision": {
        **{
            ("POST", f"/commands/{name}"): SUPERVISORS
            for name in (
                "order-rectification",
                "confirm-rectification",
                "impose-penalty",
                "conclude-annual-inspection",
                "record-sponsor-review",
                "file-annual-report",
                "award-evaluation-grade",
                "record-commendation",
                "record-government-project",
                "evaluate-project-performance",
                "record-follow-up-evaluation",
                "list-agency",
                "delist-agency",
            )
        },
        ("POST", "/commands/record-violation"): AT_THE_BASE,
        ("POST", "/commands/run-scheduled-checks"): ADMIN,
        ("GET", "/credit-files/{uscc}"): rule(CA, UO, BO, AUD, scoped=True),
        ("GET", "/credit-files/{uscc}/report"): rule(CA, UO, BO, AUD, scoped=True),
        ("GET", "/credit-lists/{credit_list}"): rule(*CALLER_ROLES),  # public lists
        ("GET", "/credit-lists-coming"): rule(*CALLER_ROLES),
        ("GET", "/rectifications"): rule(CA, UO, AUD, scoped=True),
        ("GET", "/compliance-calendar"): rule(CA, UO, AUD, scoped=True),
        ("GET", "/compliance-calendar/{uscc}"): rule(CA, UO, BO, AUD, scoped=True),
        **COMMON,
    },
    "reporting": {
        ("GET", "/reports/targets"): REPORT_READERS,
        ("GET", "/reports/half-year"): REPORT_BY_UNIT,
        ("GET", "/reports/coverage"): REPORT_BY_UNIT,
        ("GET", "/reports/trends"): REPORT_READERS,
        ("GET", "/reports/credit-listings"): REPORT_BY_UNIT,
        ("GET", "/reports/bases"): REPORT_BY_UNIT,
        ("GET", "/agencies"): REPORT_BY_UNIT,
        ("GET", "/agencies/{uscc}"): REPORT_BY_UNIT,
        ("GET", "/projection/status"): REPORT_READERS,
        **COMMON,
    },
}
