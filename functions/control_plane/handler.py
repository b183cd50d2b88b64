"""ControlPlane: the buffered control routes and /v1/models, behind Mangum.

Metrics are flushed per request by the app's middleware, as on the DataPlane."""

from mangum import Mangum

from relay.http.app import create_control_plane_app
from relay.observability import get_tracer, logger

tracer = get_tracer()
app = create_control_plane_app()
_asgi_handler = Mangum(app, lifespan="off")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: object) -> dict:
    return _asgi_handler(event, context)  # type: ignore[arg-type]
