"""`POST /commands/<name>`: the routes of the commands `handlers.COMMANDS` declares, and the
scheduled check run on demand."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.

from servicekit.check_route import add_check_route
from servicekit.command_api import CommandRoute, command_router
from services.supervision.checks import scheduled_check
from services.supervision.domain import commands as cmd
from services.supervision.handlers import COMMANDS

ROUTES = (
    CommandRoute("record-violation", cmd.RecordViolation, "记录违规 Record a violation"),
    CommandRoute("order-rectification", cmd.OrderRectification, "责令整改 Order rectification"),
    CommandRoute(
        "confirm-rectification", cmd.ConfirmRectification, "确认整改 Confirm rectification"
    ),
    CommandRoute("impose-penalty", cmd.ImposePenalty, "行政处罚 Impose a penalty"),
    CommandRoute(
        "conclude-annual-inspection", cmd.ConcludeAnnualInspection, "年检结论 Annual inspection"
    ),
    CommandRoute(
        "record-sponsor-review",
        cmd.RecordSponsorReview,
        "年报初审 Sponsor's preliminary review of the annual report",
    ),
    CommandRoute(
        "file-annual-report", cmd.FileAnnualReport, "年报报送 Annual report filed with us"
    ),
    CommandRoute("award-evaluation-grade", cmd.AwardEvaluationGrade, "评估等级 Evaluation grade"),
    CommandRoute("record-commendation", cmd.RecordCommendation, "表彰奖励 Record a commendation"),
    CommandRoute(
        "record-government-project", cmd.RecordGovernmentProject, "政府项目 Government project"
    ),
    CommandRoute(
        "evaluate-project-performance",
        cmd.EvaluateProjectPerformance,
        "绩效评价 Project performance evaluation",
    ),
    CommandRoute(
        "record-follow-up-evaluation",
        cmd.RecordFollowUpEvaluation,
        "跟进评估 Follow-up evaluation of a graduate",
    ),
    CommandRoute("list-agency", cmd.ListAgency, "列入名录（其他法定情形） List by decision"),
    CommandRoute("delist-agency", cmd.DelistAgency, "移出名录 Remove from a list by decision"),
)

router = command_router(COMMANDS, ROUTES)


add_check_route(router, scheduled_check, "到期检查 Run the scheduled check now (city admin)")
