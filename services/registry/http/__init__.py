"""The registry's HTTP entry point: commands, agency queries, reference data."""

from fastapi import APIRouter

from services.registry.http import agencies, commands, reference

router = APIRouter()
for module in (commands, agencies, reference):
    router.include_router(module.router)
