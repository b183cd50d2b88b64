"""template.yaml's functions, run in this process: what the local stack has instead of Lambda.

moto's Lambda needs Docker to run code, so the local stack runs a function's handler (CodeUri +
Handler) here, with Lambda's invoke contract: the result goes through JSON, and an exception
becomes `FunctionError: Unhandled` with an `{errorMessage, errorType, stackTrace}` payload. Step
Functions tasks (`local.stepfunctions`) and the Lambda Invoke API (`local.emulators.lambda_invoke`)
both come here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from relay.observability import logger


@dataclass(frozen=True)
class LocalFunction:
    """A template function the local stack runs in-process."""

    name: str
    arn: str
    code_dir: Path
    handler: str  # module.function
    memory_mb: int = 1024
    on_failure: str | None = None  # EventInvokeConfig's OnFailure SQS queue (ARN), if any


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


def register(functions: Iterable[LocalFunction]) -> None:
    for function in functions:
        _functions[function.arn] = function


def find(function_name: str) -> LocalFunction | None:
    """A registered function by name, ARN, or ARN with a qualifier (`...:function:name:$LATEST`)."""
    found = _functions.get(function_name)
    if found is not None:
        return found
    for function in _functions.values():
        if function_name in (function.name, function.arn) or function_name.startswith(function.arn + ":"):
            return function
    return None


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


def _not_found(function_name: str) -> dict[str, Any]:
    return {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": {
            "errorMessage": f"Function not found: {function_name}",
            "errorType": "ResourceNotFoundException",
        },
    }


def run(function: LocalFunction, payload: Any) -> dict[str, Any]:
    """Run the handler once, as a RequestResponse invoke does: `{StatusCode, Payload, FunctionError?}`."""
    context = _Context(function.name, function.arn, function.memory_mb, str(uuid.uuid4()))
    before = dict(logger.get_current_keys())
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
    finally:
        _restore_keys(before)
    # Lambda serialises the result to JSON and back.
    return {"StatusCode": 200, "Payload": json.loads(json.dumps(result))}


def _restore_keys(before: dict[str, Any]) -> None:
    """Take the function's Lambda context off the shared logger again.

    In Lambda each function has its own process; here the handlers share the app's logger,
    whose `inject_lambda_context` keys (function_name, function_request_id, ...) would
    otherwise stay on every later request's log line.
    """
    current = logger.get_current_keys()
    logger.remove_keys([key for key in list(current) if key not in before])
    changed = {key: value for key, value in before.items() if current.get(key) is not value}
    if changed:
        logger.append_keys(**changed)


def invoke(function_name: str, payload: Any) -> dict[str, Any]:
    """Run a registered function's handler like Lambda's Invoke (RequestResponse) does."""
    function = find(function_name)
    return _not_found(function_name) if function is None else run(function, payload)


def module_of(function_name: str) -> ModuleType:
    """The loaded handler module of a registered function (tests adjust its settings through it)."""
    function = find(function_name)
    if function is None:
        raise KeyError(function_name)
    _handler_of(function)
    return _modules[function.arn]
