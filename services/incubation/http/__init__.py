"""The incubation service's HTTP entry point: commands, then queries by resource."""

from fastapi import APIRouter

from services.incubation.http import agencies, bases, commands, groups, incubations, reference

router = APIRouter()
for module in (commands, bases, incubations, agencies, groups, reference):
    router.include_router(module.router)
