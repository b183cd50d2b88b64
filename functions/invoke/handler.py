"""Direct invoke: the payload is one request line, the return value its result line.

A payload that is not a request line returns an error result, not an exception: a caller
(Step Functions, `aws lambda invoke`) always gets a result line to read.
"""

import asyncio
from typing import Any

from relay.observability import get_tracer, logger
from relay.services.container import Services
from relay.settings import get_settings

tracer = get_tracer()
_dispatcher = Services(get_settings()).dispatcher


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: object) -> dict[str, Any]:
    outcome = asyncio.run(_dispatcher.dispatch(event, entry_point="invoke"))
    return outcome.line.model_dump(mode="json")
