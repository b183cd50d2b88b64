"""EventBridge worker: `Relay Request` events from the stack's bus, and S3 `Object Created`
events for objects under `batch/input/` in the stack's bucket.

Both arrive through EventBridge rules (template.yaml); the event's `source` says which.
"""

import asyncio
from typing import Any

from relay.observability import get_tracer, logger
from relay.services.container import Services
from relay.settings import get_settings

tracer = get_tracer()
_services = Services(get_settings())


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    if event.get("source") == "aws.s3":
        key = str(event["detail"]["object"]["key"])
        result = asyncio.run(_services.object_batch_worker.handle(key))
        logger.info(
            "batch object answered", extra={"key": key, "lines": result.total, "failed": result.failed}
        )
        return {"output_key": result.output_key, "error_key": result.error_key, "total": result.total}
    line = asyncio.run(_services.bus_worker.handle(event))
    return line.model_dump(mode="json")
