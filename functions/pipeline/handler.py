"""Pipeline worker: the training state machine's task steps and dataset verification, by `step`.

`relay_training` (the training code's metric-line and checkpoint contract, standard library only)
ships beside this file; the rest comes from the relay layer. `Services` does all the wiring.
"""

from typing import Any

from relay.observability import get_tracer, logger
from relay.pipeline.steps import run, steps
from relay.services.container import Services
from relay.settings import get_settings
from relay_training.metrics import parse_metric_line

tracer = get_tracer()
_pipeline = Services(get_settings()).pipeline
_steps = steps(parse_metric_line)


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return run(_steps, _pipeline, event)
