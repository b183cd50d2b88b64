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
   function's handler (CodeUri + Handler from template.yaml) in this process, with Lambda's
   error contract: an exception becomes `FunctionError: Unhandled` and an
   `{errorMessage, errorType, stackTrace}` payload, so Catch sees the same Error and Cause.
3. aws-sdk errors are named `<service>.<service>Exception` from the lower-case service name
   (`sagemaker.sagemakerException`); Step Functions names them `SageMaker.<ErrorCode>` (e.g.
   `SageMaker.ResourceLimitExceededException`), which Retry/Catch match on. Patched.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

_SDK_SERVICE_NAMES = {"sagemaker": "SageMaker", "dynamodb": "DynamoDb", "sfn": "Sfn", "s3": "S3"}


@dataclass(frozen=True)
class LocalFunction:
    """A template function the local stack runs in-process."""

    name: str
    arn: str
    code_dir: Path
    handler: str  # module.function
    memory_mb: int = 1024


@dataclass
class _Context:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


_functions: dict[str, LocalFunction] = {}
_modules: dict[str, ModuleType] = {}
_lock = threading.Lock()


def _handler_of(function: LocalFunction) -> Any:
    with _lock:
        module = _modules.get(function.arn)
        if module is None:
            module_name, _, _ = function.handler.rpartition(".")
            # Lambda puts the code directory first on sys.path; sibling packages import from there.
            if str(function.code_dir) not in sys.path:
                sys.path.insert(0, str(function.code_dir))
            spec = importlib.util.spec_from_file_location(
                f"_relay_local_{function.name}", function.code_dir / f"{module_name}.py"
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _modules[function.arn] = module
    return getattr(module, function.handler.rpartition(".")[2])


def invoke(function_name: str, payload: Any) -> dict[str, Any]:
    """Run a registered function's handler like Lambda's Invoke (RequestResponse) does."""
    function = _functions.get(function_name) or next(
        (f for f in _functions.values() if function_name in (f.name, f.arn)), None
    )
    if function is None:
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": {
                "errorMessage": f"Function not found: {function_name}",
                "errorType": "ResourceNotFoundException",
            },
        }
    context = _Context(function.name, function.arn, function.memory_mb, str(uuid.uuid4()))
    try:
        result = _handler_of(function)(payload, context)
    except Exception as exc:
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            },
        }
    # Lambda serialises the result to JSON and back.
    return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}


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
    for function in functions:
        _functions[function.arn] = function
    lambda_eval_utils._invoke_lambda_function = _invoke_lambda_function
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and hasattr(module, "boto_client_for"):
            setattr(module, "boto_client_for", _boto_client_for)  # noqa: B010 - a patch on a moto module
    sdk = state_task_service_aws_sdk
    sdk._SERVICE_ERROR_NAMES.update(_SDK_SERVICE_NAMES)
    sdk.StateTaskServiceAwsSdk._normalise_exception_name = staticmethod(_normalise_exception_name)  # type: ignore[method-assign]


def module_of(function_name: str) -> ModuleType:
    """The loaded handler module of a registered function (tests adjust its settings through it)."""
    function = next(f for f in _functions.values() if function_name in (f.name, f.arn))
    _handler_of(function)
    return _modules[function.arn]
