"""moto's Step Functions interpreter, made to run Relay's state machine in-process.

moto (5.x) ships LocalStack's ASL interpreter behind `default_user_config["stepfunctions"]
["execute_state_machine"]`. Out of the box it cannot run our pipeline; these are its defects
and what `install` changes (in this process only, never in production code):

1. Task states reach AWS through `boto_client_for`, which pins `endpoint_url` to
   `http://localhost:$MOTO_PORT` (5000 unless set): the standard endpoint variables are ignored,
   so `aws-sdk:sagemaker:*` would hit moto's stub SageMaker instead of the training emulator and
   nothing reaches a moto server on another port. Patched to let botocore read
   `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` as every other client does.
2. `lambda:invoke` calls moto's Lambda, which needs Docker to run code. Patched to run the
   function's handler (CodeUri + Handler from template.yaml) in this process (`local.functions`),
   with Lambda's error contract: an exception becomes `FunctionError: Unhandled` and an
   `{errorMessage, errorType, stackTrace}` payload, so Catch sees the same Error and Cause.
3. aws-sdk errors are named `<service>.<service>Exception` from the lower-case service name
   (`sagemaker.sagemakerException`); Step Functions names them `SageMaker.<ErrorCode>` (e.g.
   `SageMaker.ResourceLimitExceededException`), which Retry/Catch match on. Patched.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from local.functions import LocalFunction, invoke, register

# The interpreter logs every failed state at ERROR, including the ones the state machine
# catches (a failed training job ends in its Failed state by design).
_INTERPRETER_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


class _FailuresAtDebug(logging.Filter):
    """A failed state is an execution event, not the local stack's error: debug level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_SDK_SERVICE_NAMES = {"sagemaker": "SageMaker", "dynamodb": "DynamoDb", "sfn": "Sfn", "s3": "S3"}


def _invoke_lambda_function(
    parameters: dict[str, Any], region: str, state_credentials: Any
) -> dict[str, Any]:
    raw = parameters.get("Payload")
    payload = json.loads(raw) if isinstance(raw, (bytes, str)) and raw else raw
    return invoke(str(parameters["FunctionName"]), payload)


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service_name=service,
        region_name=region,
        aws_access_key_id="ak",
        aws_secret_access_key="sk",  # noqa: S106 - moto accepts any credentials
        config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}),
    )


def _normalise_exception_name(norm_service_name: str, ex: Exception) -> str:
    code = str(getattr(ex, "response", {}).get("Error", {}).get("Code") or type(ex).__name__)
    name = f"{norm_service_name}.{code}"
    return name if name.endswith("Exception") else name + "Exception"


def install(functions: list[LocalFunction]) -> None:
    """Turn on moto's interpreter and patch its defects (idempotent)."""
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
        state_task_service_factory,  # noqa: F401 - imports every service module, so all are patched
    )

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    register(functions)
    interpreter = logging.getLogger(_INTERPRETER_LOGGER)
    if not any(isinstance(f, _FailuresAtDebug) for f in interpreter.filters):
        interpreter.addFilter(_FailuresAtDebug())
    lambda_eval_utils._invoke_lambda_function = _invoke_lambda_function
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for"):
            setattr(module, "boto_client_for", _boto_client_for)  # noqa: B010 - a patch on a moto module
    sdk = state_task_service_aws_sdk
    sdk._SERVICE_ERROR_NAMES.update(_SDK_SERVICE_NAMES)
    sdk.StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(_normalise_exception_name)  # type: ignore[method-assign]
