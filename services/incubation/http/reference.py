"""Reference data: the graduation criteria, every version with its effective date."""

# No `from __future__ import annotations`: FastAPI reads these route annotations at runtime.
from typing import Any

from fastapi import APIRouter

from services.incubation.domain.criteria import all_versions

router = APIRouter(tags=["reference"])


@router.get("/reference/graduation-criteria", summary="出壳标准")
async def graduation_criteria() -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "effective_from": v.effective_from,
            "criteria": [
                {"id": c.id, "checked_by": c.checked_by, "zh": c.zh, "en": c.en} for c in v.criteria
            ],
        }
        for v in all_versions()
    ]
