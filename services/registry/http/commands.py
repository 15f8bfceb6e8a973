"""`POST /commands/<name>`: the routes of the commands `handlers.COMMANDS` declares."""

from servicekit.command_api import CommandRoute, command_router
from services.registry.domain import commands as cmd
from services.registry.handlers import COMMANDS

ROUTES = (
    CommandRoute("register-agency", cmd.RegisterAgency, "登记社工机构 Register an agency"),
    CommandRoute("amend-agency-profile", cmd.AmendAgencyProfile, "变更登记 Amend particulars"),
    CommandRoute("change-agency-staff", cmd.ChangeAgencyStaff, "人员变更 Change staff counts"),
    CommandRoute("suspend-agency", cmd.SuspendAgency, "限期停止活动 Suspend"),
    CommandRoute("reinstate-agency", cmd.ReinstateAgency, "恢复活动 Reinstate"),
    CommandRoute("deregister-agency", cmd.DeregisterAgency, "注销登记 Deregister"),
    CommandRoute(
        "revoke-agency-registration", cmd.RevokeAgencyRegistration, "撤销登记 Revoke registration"
    ),
)

router = command_router(COMMANDS, ROUTES)
