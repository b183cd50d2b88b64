"""The `sagemaker-runtime` API: InvokeEndpoint and InvokeEndpointWithResponseStream.

Which container an endpoint runs is decided by its name: the first flavour token it
contains, longest first (`tei-embedding`, `tei-rerank`, `classifier`, `whisper`, `openai`,
`tgi`). EMULATED_ENDPOINTS lists canonical names; any other name containing a token works
too (`my-tgi-endpoint`), and a name containing none is "not found", as SageMaker says it.

Endpoints the hosting emulator serves for real (`sagemaker_hosting`) are answered by their serving
process instead: the request goes to the container as is (`InferenceComponentName` picks the
component; an inference-component endpoint without it, an unknown component, or one at copy count
0 get SageMaker's ValidationError), a container's 4xx/5xx comes back as ModelError, and a stream
is relayed one PayloadPart per chunk the container writes. Each such invocation is counted in
CloudWatch (`serving/metrics.py`).

The canned flavours' streams carry the container's bytes in PayloadPart events (the raw bytes
are the event payload, as botocore's model declares `Bytes` an event payload blob), cut at
deterministic but irregular sizes so one part may hold half an SSE event, half a UTF-8
character, or several events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator

from local.emulators import faults
from local.emulators.eventstream import encode_message
from local.emulators.sagemaker_containers import FLAVOURS, ContainerError, stream_bytes
from local.emulators.server import AbortStream, Request, Response, Router, StreamResponse, aws_error
from local.emulators.serving.hosting import Hosting, Route, Unroutable
from local.emulators.serving.metrics import Metrics
from local.emulators.serving.process import Reply

ACCOUNT = "123456789012"
REGION = "us-east-1"
EMULATED_ENDPOINTS: dict[str, str] = {
    "relay-emu-openai": "openai",
    "relay-emu-tgi": "tgi",
    "relay-emu-tei-embedding": "tei-embedding",
    "relay-emu-tei-rerank": "tei-rerank",
    "relay-emu-classifier": "classifier",
    "relay-emu-whisper": "whisper",
}
_TOKENS = sorted(FLAVOURS, key=len, reverse=True)
# Part sizes cycle through these, starting at an offset taken from a hash of the request.
PART_SIZES = (1, 7, 3, 29, 2, 13, 64, 5, 17, 1, 41, 4)


def flavour_of(endpoint: str) -> str | None:
    if endpoint in EMULATED_ENDPOINTS:
        return EMULATED_ENDPOINTS[endpoint]
    return next((token for token in _TOKENS if token in endpoint), None)


def split_parts(data: bytes, seed: bytes) -> list[bytes]:
    offset = hashlib.sha256(seed).digest()[0] % len(PART_SIZES)
    parts, position, n = [], 0, offset
    while position < len(data):
        size = PART_SIZES[n % len(PART_SIZES)]
        parts.append(data[position : position + size])
        position += size
        n += 1
    return parts


def _model_error(status: int, message: str, endpoint: str) -> Response:
    # ModelError carries the container's own status and message next to SageMaker's.
    body = {
        "Message": f'Received client error ({status}) from primary with message "{message}".',
        "OriginalStatusCode": status,
        "OriginalMessage": message,
        "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
    }
    return Response.json(body, 424, {"x-amzn-ErrorType": "ModelError:http://internal.amazon.com/coral/"})


def _prepare(request: Request) -> tuple[str, dict[str, object]] | Response:
    """The flavour and parsed body, or the error SageMaker (or the container) would answer."""
    endpoint = request.params["endpoint"]
    flavour = flavour_of(endpoint)
    fault = faults.requested_fault(request.body)
    if flavour is None or fault == "not-found":
        return aws_error(400, "ValidationError", f"Endpoint {endpoint} of account {ACCOUNT} not found.")
    if fault == "model-error":
        return _model_error(500, "emulated container failure", endpoint)
    failed = faults.fault_response(request.body, faults.SAGEMAKER_FAULTS)
    if failed is not None:
        return failed
    if flavour == "whisper" or request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _model_error(400, "request body is not valid JSON", endpoint)
        if not isinstance(body, dict):
            return _model_error(400, "request body must be a JSON object", endpoint)
        return flavour, body
    return _model_error(415, "unsupported content type", endpoint)


def invoke(request: Request) -> Response:
    prepared = _prepare(request)
    if isinstance(prepared, Response):
        return prepared
    flavour, body = prepared
    faults.sleep(faults.first_delay(request.body))
    try:
        result = FLAVOURS[flavour](body, False)
    except ContainerError as exc:
        return _model_error(exc.status, exc.message, request.params["endpoint"])
    return Response.json(result, headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"})


def _payload_part(data: bytes) -> bytes:
    return encode_message(
        {":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"},
        data,
    )


def _events(parts: list[bytes], fault: str | None, first_delay: float) -> Iterator[bytes]:
    faults.sleep(first_delay)
    middle = len(parts) // 2
    for n, part in enumerate(parts):
        if n == middle and fault == "stream-error":
            yield encode_message(
                {
                    ":exception-type": "ModelStreamError",
                    ":content-type": "application/json",
                    ":message-type": "exception",
                },
                json.dumps({"Message": "Emulated stream failure", "ErrorCode": "StreamBroken"}).encode(),
            )
            return
        if n == middle and fault == "stream-break":
            raise AbortStream
        if n:
            faults.sleep(faults.chunk_delay())
        yield _payload_part(part)


def invoke_stream(request: Request) -> Response | StreamResponse:
    prepared = _prepare(request)
    if isinstance(prepared, Response):
        return prepared
    flavour, body = prepared
    try:
        result = FLAVOURS[flavour](body, bool(body.get("stream")))
    except ContainerError as exc:
        return _model_error(exc.status, exc.message, request.params["endpoint"])
    data = stream_bytes(result) if body.get("stream") else json.dumps(result).encode()
    parts = split_parts(data, request.body)
    fault = faults.requested_fault(request.body)
    return StreamResponse(
        _events(parts, fault, faults.first_delay(request.body)),
        headers={
            "Content-Type": "application/vnd.amazon.eventstream",
            "X-Amzn-SageMaker-Content-Type": "text/event-stream"
            if body.get("stream")
            else "application/json",
        },
    )


COMPONENT_HEADER = "x-amzn-sagemaker-inference-component"


class HostedRuntime:
    """Invocations of endpoints the hosting emulator serves; anything else goes to the canned flavours."""

    def __init__(self, hosting: Hosting, metrics: Metrics | None = None) -> None:
        self.hosting, self.metrics = hosting, metrics or Metrics()

    def _route(self, request: Request) -> Route | Response | None:
        endpoint = request.params["endpoint"]
        component = request.headers.get(COMPONENT_HEADER) or None
        try:
            route = self.hosting.route(endpoint, component)
        except Unroutable as exc:
            hosted = self.hosting.endpoints.get(endpoint)
            if exc.capacity and hosted is not None:
                variant = hosted.variant["VariantName"]
                self.metrics.invoked(endpoint, variant, component, "NoCapacityInvocationFailures")
            return aws_error(400, "ValidationError", exc.message)
        if route is not None:
            self.metrics.invoked(endpoint, route.variant, route.component)
        return route

    def _forward(self, route: Route, request: Request) -> Reply:
        headers = {"Content-Type": request.headers.get("content-type", "application/json")}
        if route.adapter:
            headers["X-Relay-Adapter"] = route.adapter
        return route.replica.request("POST", "/invocations", request.body, headers)

    def _served_headers(self, route: Route) -> dict[str, str]:
        headers = {"x-Amzn-Invoked-Production-Variant": route.variant}
        if route.component:
            headers["X-Amzn-SageMaker-Inference-Component"] = route.component
        return headers

    def invoke(self, request: Request) -> Response:
        route = self._route(request)
        if not isinstance(route, Route):
            return route or invoke(request)
        try:
            reply = self._forward(route, request)
        except OSError:
            return _model_error(500, "the model container is not answering", request.params["endpoint"])
        body = b"".join(reply.chunks)
        if reply.status >= 400:
            return _model_error(reply.status, body.decode(errors="replace"), request.params["endpoint"])
        return Response(200, body, {"Content-Type": reply.content_type, **self._served_headers(route)})

    def invoke_stream(self, request: Request) -> Response | StreamResponse:
        route = self._route(request)
        if not isinstance(route, Route):
            return route or invoke_stream(request)
        try:
            reply = self._forward(route, request)
        except OSError:
            return _model_error(500, "the model container is not answering", request.params["endpoint"])
        if reply.status >= 400:
            message = b"".join(reply.chunks).decode(errors="replace")
            return _model_error(reply.status, message, request.params["endpoint"])
        return StreamResponse(
            (_payload_part(chunk) for chunk in reply.chunks),
            headers={
                "Content-Type": "application/vnd.amazon.eventstream",
                "X-Amzn-SageMaker-Content-Type": reply.content_type,
                **self._served_headers(route),
            },
        )


def register(router: Router, hosting: Hosting | None = None, metrics: Metrics | None = None) -> None:
    """The runtime routes; with `hosting`, its endpoints are served by their containers first."""
    handlers: tuple[Callable[[Request], Response], Callable[[Request], Response | StreamResponse]]
    if hosting is None:
        handlers = (invoke, invoke_stream)
    else:
        runtime = HostedRuntime(hosting, metrics)
        handlers = (runtime.invoke, runtime.invoke_stream)
    router.add("POST", "/endpoints/(?P<endpoint>[^/]+)/invocations", handlers[0])
    router.add("POST", "/endpoints/(?P<endpoint>[^/]+)/invocations-response-stream", handlers[1])
