"""Batch function: runs a Batch API batch (validate, feed the request queue, finalize).

Invoked asynchronously with `{"action": "run", "owner", "batch_id"}` by the control plane when
a batch is created, and by itself to go on with a batch that outlasts one invocation.
"""

from typing import Any

from relay.observability import get_tracer, logger
from relay.services.container import Services
from relay.settings import get_settings

tracer = get_tracer()
_runner = Services(get_settings()).batch_runner


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("action") != "run":
        raise ValueError(f"unknown batch action {event.get('action')!r}")
    status = _runner.run(
        str(event["owner"]), str(event["batch_id"]), lambda: context.get_remaining_time_in_millis() / 1000
    )
    return {"batch_id": event["batch_id"], "status": status}
