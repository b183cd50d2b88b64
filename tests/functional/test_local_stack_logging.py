"""The local stack's own log hygiene: in-process functions and the Step Functions stand-in."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from local import functions
from local.functions import LocalFunction
from relay.observability import logger

pytestmark = pytest.mark.functional

HANDLER = """
from relay.observability import logger


@logger.inject_lambda_context(log_event=False)
def handler(event, context):
    keys = logger.get_current_keys()
    return {"function_name": keys.get("function_name"), "request_id": keys.get("function_request_id")}
"""


def test_an_in_process_run_takes_its_lambda_context_off_the_shared_logger(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)
    function = LocalFunction(
        "LogContextProbe",
        "arn:aws:lambda:us-east-1:123456789012:function:LogContextProbe",
        tmp_path,
        "handler.handler",
    )
    functions.register([function])
    logger.append_keys(kept_key="stays")
    try:
        before = dict(logger.get_current_keys())
        inside = functions.run(function, {})["Payload"]
        assert inside["function_name"] == "LogContextProbe" and inside["request_id"]  # set while it ran
        after = logger.get_current_keys()
        assert after == before  # and taken off again: later request lines carry none of it
        assert after.get("function_request_id") != inside["request_id"]
    finally:
        logger.remove_keys(["kept_key"])


def test_failed_states_are_logged_at_debug(local_stack: object, caplog: pytest.LogCaptureFixture) -> None:
    from moto.stepfunctions.parser.asl.component import eval_component

    with caplog.at_level(logging.INFO):
        eval_component.LOG.error(
            "%s at '%s'", "Exception=FailureEventException, Error=TrainingFailed", "Fail"
        )
    assert not [r for r in caplog.records if "FailureEventException" in r.getMessage()]
    with caplog.at_level(logging.DEBUG, logger=eval_component.LOG.name):
        eval_component.LOG.error(
            "%s at '%s'", "Exception=FailureEventException, Error=TrainingFailed", "Fail"
        )
    shown = [r for r in caplog.records if "FailureEventException" in r.getMessage()]
    assert shown and shown[0].levelno == logging.DEBUG
