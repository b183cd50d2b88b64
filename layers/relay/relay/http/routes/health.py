"""`GET /health`: liveness for the Lambda Web Adapter's readiness check and load balancers."""

from __future__ import annotations

from fastapi import APIRouter

import relay

router = APIRouter()


@router.get("/health", include_in_schema=False)
async def health() -> dict[str, str]:
    return {"status": "ok", "version": relay.__version__}
