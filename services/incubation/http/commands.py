"""`POST /commands/<name>`: the routes of the commands `handlers.COMMANDS` declares, and the
scheduled check run on demand."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.

from servicekit.check_route import add_check_route
from servicekit.command_api import CommandRoute, command_router
from services.incubation.checks import scheduled_check
from services.incubation.domain import commands as cmd
from services.incubation.handlers import COMMANDS

ROUTES = (
    CommandRoute("establish-base", cmd.EstablishBase, "建立孵化基地 Establish a base"),
    CommandRoute("update-facilities", cmd.UpdateFacilities, "场地设施变更 Update facilities"),
    CommandRoute(
        "adopt-admission-standard", cmd.AdoptAdmissionStandard, "入孵标准 Adopt a standard"
    ),
    CommandRoute("publish-call", cmd.PublishCall, "发布申请通知 Publish a call"),
    CommandRoute("record-training", cmd.RecordTraining, "人才培训 Record a training session"),
    CommandRoute("close-base", cmd.CloseBase, "关闭基地 Close a base"),
    CommandRoute(
        "evaluate-base", cmd.EvaluateBase, "基地运行评估 Evaluate the base's operation (§6.3)"
    ),
    CommandRoute("submit-application", cmd.SubmitApplication, "入孵申请 Submit an application"),
    CommandRoute("review-application", cmd.ReviewApplication, "审核 Record a review stage"),
    CommandRoute("open-public-notice", cmd.OpenPublicNotice, "入孵公示 Open the public notice"),
    CommandRoute(
        "record-admission-objection",
        cmd.RecordAdmissionObjection,
        "公示期异议 Record an objection received during the notice",
    ),
    CommandRoute("approve-application", cmd.ApproveApplication, "准予入孵 Approve"),
    CommandRoute("reject-application", cmd.RejectApplication, "不予入孵 Reject"),
    CommandRoute("sign-agreement", cmd.SignAgreement, "签订入孵协议 Sign the agreement"),
    CommandRoute("start-incubation", cmd.StartIncubation, "入驻 Move in"),
    CommandRoute("extend-incubation", cmd.ExtendIncubation, "续驻 Extend"),
    CommandRoute("record-support", cmd.RecordSupport, "扶持记录 Record support"),
    CommandRoute("graduate-agency", cmd.GraduateAgency, "出壳 Graduate"),
    CommandRoute("terminate-incubation", cmd.TerminateIncubation, "退驻 Terminate"),
    CommandRoute("record-base-staff", cmd.RecordBaseStaff, "专职人员 Record the base's staff"),
    CommandRoute(
        "record-base-funding", cmd.RecordBaseFunding, "基地经费 Record the base's funding by source"
    ),
    CommandRoute(
        "record-professional-services",
        cmd.RecordProfessionalServices,
        "提供专业服务 Record a resident's professional services over a period",
    ),
    CommandRoute(
        "record-group-in-preparation",
        cmd.RecordGroupInPreparation,
        "注册协助 Take on a group in preparation (no credit code yet)",
    ),
)

router = command_router(COMMANDS, ROUTES)


add_check_route(
    router,
    scheduled_check,
    "到期检查 Run the scheduled check now (city admin): groups not registered in "
    "time, stays past their term, stays without activity",
)
