"""Request queue worker: each SQS message is a request line, each result goes to a reply queue.

Powertools' batch processor reports partial batch failures (`ReportBatchItemFailures`): a
message whose line failed transiently goes back to the queue alone, the others are deleted.
The async processor answers the messages of one batch concurrently.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from relay.observability import get_tracer, logger
from relay.services.container import Services
from relay.settings import get_settings

tracer = get_tracer()
processor = AsyncBatchProcessor(event_type=EventType.SQS)
_worker = Services(get_settings()).queue_worker


async def _record(record: SQSRecord) -> None:
    await _worker.handle(record.raw_event)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return async_process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
