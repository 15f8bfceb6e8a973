"""What a base admits by: admission standards (versioned) and the calls for applications."""

from __future__ import annotations

from socialwork_contracts.incubation import (
    AdmissionStandardAdopted,
    CallPublished,
)

from servicekit.decisions import InvalidTransition, RuleViolation, reject_any
from services.incubation.domain import rules
from services.incubation.domain.commands import (
    AdoptAdmissionStandard,
    PublishCall,
)
from services.incubation.domain.incubation_base import (
    IncubationBase,
    open_base,
)


def adopt_standard(
    state: IncubationBase | None, command: AdoptAdmissionStandard
) -> AdmissionStandardAdopted:
    """Versions go 1, 2, 3 …; each takes effect no earlier than the one before."""
    base = open_base(state, command.base_id)
    expected = len(base.standards) + 1
    found = rules.text_present("agreement_template", command.agreement_template, "协议书范本")
    if command.version != expected:
        found.append(
            RuleViolation(
                "standard_version_not_next",
                "version",
                f"标准版本应为{expected}",
                f"the next version is {expected}",
            )
        )
    if not [r for r in command.requirements if r.strip()]:
        found.append(
            RuleViolation(
                "requirements_missing",
                "requirements",
                "入孵标准不能为空",
                "at least one requirement",
            )
        )
    if base.standards and command.effective_from < base.standards[-1].effective_from:
        found.append(
            RuleViolation(
                "effective_from_too_early",
                "effective_from",
                "生效日期早于上一版本",
                "takes effect before the previous version",
            )
        )
    reject_any(found)
    return AdmissionStandardAdopted(
        base_id=base.base_id,
        version=command.version,
        requirements=list(command.requirements),
        agreement_template=command.agreement_template,
        effective_from=command.effective_from,
    )


def publish_call(state: IncubationBase | None, command: PublishCall) -> CallPublished:
    """guidance §5.2: a call needs an admission standard in force and a base up to standard."""
    base = open_base(state, command.base_id)
    if base.call(command.call_id) is not None:
        raise InvalidTransition(
            "duplicate_call", "申请通知已发布", f"call {command.call_id} exists"
        )
    found = rules.hardware_standard(base.facilities)
    found += rules.text_present("title", command.title, "通知标题")
    found += rules.date_order(
        "closes_on",
        command.opens_on,
        command.closes_on,
        "截止日期早于开始日期",
        "the call closes before it opens",
    )
    found += rules.date_order(
        "published_on",
        base.established_on,
        command.published_on,
        "发布日期早于基地建成",
        "published before the base was established",
    )
    standard = base.standard_on(command.opens_on)
    if standard is None:
        found.append(
            RuleViolation(
                "no_admission_standard",
                "opens_on",
                "开始受理时尚无生效的入孵申请标准",
                "no admission standard is in force when the call opens",
            )
        )
    allottable = len(rules.allottable_offices(base.facilities))
    if command.places < 1 or command.places > allottable:
        found.append(
            RuleViolation(
                "places_out_of_range",
                "places",
                f"名额应在1到{allottable}（可分配办公室数）之间",
                f"places must be between 1 and {allottable} (allottable offices)",
            )
        )
    reject_any(found)
    assert standard is not None
    return CallPublished(
        base_id=base.base_id,
        call_id=command.call_id,
        title=command.title,
        opens_on=command.opens_on,
        closes_on=command.closes_on,
        places=command.places,
        standard_version=standard.version,
        published_on=command.published_on,
    )
