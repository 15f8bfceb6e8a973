"""Reference data: reporting units, service fields, target groups (no token needed)."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from fastapi import APIRouter
from socialwork_contracts import reference

router = APIRouter(tags=["reference"])


@router.get("/reference/localities", summary="统计单位 Reporting units")
async def localities() -> list[reference.Locality]:
    return list(reference.localities())


@router.get("/reference/service-fields", summary="服务领域")
async def service_fields() -> list[reference.Classification]:
    return list(reference.service_fields())


@router.get("/reference/target-groups", summary="服务对象")
async def target_groups() -> list[reference.Classification]:
    return list(reference.target_groups())
