"""`GET /health`: liveness for the Lambda Web Adapter's readiness check and load balancers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import relay
from relay.http.routing import Endpoint


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": relay.__version__})


routes = [Endpoint("/health", health, method="GET", need=None, include_in_schema=False)]
