"""`GET /v1/testing-functions`: the built-in scoring functions, with their source."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from relay import evaluation
from relay.http.security import require_key
from relay.protocol.control import TestingFunctionSummary

router = APIRouter(dependencies=[Depends(require_key)])


@router.get("/v1/testing-functions", response_model=list[TestingFunctionSummary])
async def list_testing_functions() -> list[TestingFunctionSummary]:
    return [TestingFunctionSummary(**item) for item in evaluation.describe()]
