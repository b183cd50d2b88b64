"""ControlPlane: the buffered control routes and /v1/models, behind Mangum.

The app (relay.http.app.ControlPlane) builds one control router's FastAPI app on the first
request for one of its paths, so this import loads neither FastAPI nor any router.

Metrics are flushed per request by the app's middleware, as on the DataPlane.

The X-Ray tracer (and the SDK's ~100 ms import) is built by the first invocation rather than at
import: every invocation still runs inside `tracer.capture_lambda_handler` (the `## lambda_handler`
subsegment, its ColdStart annotation), and the SDK patches botocore's client class, so clients
made earlier are traced as well."""

from __future__ import annotations

from collections.abc import Callable

from mangum import Mangum

from relay.http.app import ControlPlane
from relay.observability import get_tracer, logger

app = ControlPlane()
_asgi_handler = Mangum(app, lifespan="off")
_traced: Callable[[dict, object], dict] | None = None


def _traced_handler() -> Callable[[dict, object], dict]:
    @get_tracer().capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict, context: object) -> dict:
        return _asgi_handler(event, context)  # type: ignore[arg-type]

    return lambda_handler


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
def lambda_handler(event: dict, context: object) -> dict:
    global _traced
    if _traced is None:  # one invocation at a time per environment: no lock needed
        _traced = _traced_handler()
    return _traced(event, context)
