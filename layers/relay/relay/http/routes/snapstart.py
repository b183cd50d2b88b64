"""`POST /_relay/snapstart/before-checkpoint` and `/_relay/snapstart/after-restore`: SnapStart's hooks
(routed by relay.http.app.snapstart_routes).

The Lambda Web Adapter sends each an empty POST (template.yaml names them in
`AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH` and `AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`), from the
same environment: uvicorn listens on loopback there, and API Gateway routes no `/_relay` path to
the function. They are refused to any other client all the same. The work is in relay.lifecycle.
"""

from __future__ import annotations

from ipaddress import ip_address

from starlette.requests import Request
from starlette.responses import Response

from relay import lifecycle
from relay.errors import NotFoundError
from relay.http.routing import Endpoint, blocking
from relay.http.security import services_of


def _from_this_host(request: Request) -> None:
    client = request.scope.get("client")
    try:
        local = client is not None and ip_address(client[0]).is_loopback
    except ValueError:
        local = False
    if not local:
        raise NotFoundError(f"Unknown route: {request.method} {request.url.path}")


async def before_checkpoint(request: Request) -> Response:
    _from_this_host(request)
    # The routes' modules (wire models, translators) are imported by each route's first request;
    # before the snapshot, all of them.
    for route in request.app.routes:
        if isinstance(route, Endpoint):
            route.load()
    await blocking(lifecycle.prime, services_of(request))
    return Response(status_code=204)


async def after_restore(request: Request) -> Response:
    _from_this_host(request)
    await blocking(lifecycle.after_restore, services_of(request))
    return Response(status_code=204)
