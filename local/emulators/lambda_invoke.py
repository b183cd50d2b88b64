"""Lambda's Invoke API for template.yaml's functions, run in this process (`local.functions`).

`POST /2015-03-31/functions/{FunctionName}/invocations`, as botocore sends it:

- `X-Amz-Invocation-Type: Event` queues the event and answers 202 with an empty body at
  once; the handler then runs on a thread of its own. Lambda retries a failed asynchronous
  event twice over the following minutes; here a failure is logged and not retried, and its
  invocation record goes to the function's OnFailure SQS queue (EventInvokeConfig), as
  Lambda's does once the retries are spent.
- `RequestResponse` (the default) runs the handler inline: 200 with the JSON result, or with
  `X-Amz-Function-Error: Unhandled` and `{errorMessage, errorType, stackTrace}`.
- `DryRun` answers 204.

FunctionName may be the name, the ARN or a qualified ARN; an unknown one is Lambda's 404
`ResourceNotFoundException`. Other Lambda operations are not served.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import boto3

from local import functions
from local.emulators.server import Request, Response, Router, aws_error

PATH = r"/2015-03-31/functions/(?P<name>[^/]+)/invocations"
_log = logging.getLogger("relay.local.lambda")


def _error(status: int, code: str, message: str) -> Response:
    response = aws_error(status, code, message)
    response.body = json.dumps({"Type": "User", "message": message}).encode()
    return response


def _run_in_background(function: functions.LocalFunction, payload: Any) -> None:
    def work() -> None:
        result = functions.run(function, payload)
        if result.get("FunctionError"):
            error = result["Payload"]
            _log.warning(
                "asynchronous invoke of %s failed: %s: %s",
                function.name,
                error.get("errorType"),
                error.get("errorMessage"),
            )
            if function.on_failure:
                _record_failure(function, payload, error)

    threading.Thread(target=work, name=f"lambda-{function.name}", daemon=True).start()


def _record_failure(function: functions.LocalFunction, payload: Any, error: dict[str, Any]) -> None:
    """Lambda's invocation record of an asynchronous invoke that failed, on the OnFailure queue."""
    record = {
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function.arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    }
    sqs = boto3.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=str(function.on_failure).rsplit(":", 1)[1])["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))


def invoke(request: Request) -> Response:
    name = request.params["name"]
    function = functions.find(name)  # every local function is its own $LATEST: a Qualifier changes nothing
    if function is None:
        return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
    kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
    try:
        payload = json.loads(request.body) if request.body else {}
    except ValueError:
        return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
    if kind == "DryRun":
        return Response(204)
    if kind == "Event":
        _run_in_background(function, payload)
        return Response(202)
    if kind != "RequestResponse":
        return _error(400, "InvalidParameterValueException", f"Unknown invocation type {kind}")
    result = functions.run(function, payload)
    headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
    if result.get("FunctionError"):
        headers["X-Amz-Function-Error"] = str(result["FunctionError"])
    return Response(200, json.dumps(result["Payload"]).encode(), headers)


def register(router: Router) -> None:
    router.add("POST", PATH, invoke)
