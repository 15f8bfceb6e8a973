"""The registry's commands, declared once: every one is about one agency's stream, keyed by its
credit code, decided on that stream alone. HTTP routes and the supervision-penalties process
manager run them through `servicekit.command_table.run_command`."""

from __future__ import annotations

from collections.abc import Sequence

from socialwork_contracts.base import DomainEvent

from servicekit.command_table import CommandHandler, CommandTable
from services.registry import readmodel
from services.registry.authz import authorize
from services.registry.domain import commands as cmd
from services.registry.domain.agency import Agency, evolve
from services.registry.domain.decide import decide
from services.registry.domain.events import as_registry_event


def evolve_agency(state: Agency | None, event: DomainEvent) -> Agency:
    return evolve(state, as_registry_event(event))


def decide_agency(
    state: Agency | None, command: cmd.RegistryCommand, _situation: None
) -> Sequence[DomainEvent]:
    return decide(state, command)


AGENCY = CommandHandler[Agency, cmd.RegistryCommand, None](
    stream_id=lambda command: command.uscc,
    evolve=evolve_agency,
    decide=decide_agency,
    authorize=authorize,
    inline=readmodel.upsert_agency,
    # A registration starts the agency's stream; on an existing one `decide` refuses it.
    opens=lambda command: isinstance(command, cmd.RegisterAgency),
)

COMMANDS: CommandTable = {
    cmd.RegisterAgency: AGENCY,
    cmd.AmendAgencyProfile: AGENCY,
    cmd.ChangeAgencyStaff: AGENCY,
    cmd.SuspendAgency: AGENCY,
    cmd.ReinstateAgency: AGENCY,
    cmd.DeregisterAgency: AGENCY,
    cmd.RevokeAgencyRegistration: AGENCY,
}
