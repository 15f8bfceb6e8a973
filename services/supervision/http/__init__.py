"""The supervision service's HTTP entry point: commands, then credit-file queries by resource."""

from fastapi import APIRouter

from services.supervision.http import (
    commands,
    compliance,
    credit_files,
    credit_lists,
    rectifications,
)

router = APIRouter()
for module in (commands, credit_files, credit_lists, rectifications, compliance):
    router.include_router(module.router)
