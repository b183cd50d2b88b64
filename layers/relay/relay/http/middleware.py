"""Pure ASGI middleware (no response buffering, so streams pass straight through)."""

from __future__ import annotations

import re
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.errors import PayloadTooLargeError, RelayError
from relay.http.envelope import error_response
from relay.http.errors import known_error_response
from relay.ids import hex_id
from relay.observability import KEY_METRICS_SCOPE, KeyMetrics, logger, request_id_var, request_line

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLargeError(HTTPException):
    """Raised from `receive`; an HTTPException because FastAPI re-raises those while parsing
    a body (anything else it turns into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body exceeds {limit} bytes")


class RequestContextMiddleware:
    """Sets `x-request-id`, enforces the body size limit and writes the request's one line.

    That line is the access log line and the request's EMF metrics at once, with its key's
    metrics when the metering (relay/http/metering.py) put them in the scope's `KeyMetrics`."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        length: int | None = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
        request_id = incoming if _REQUEST_ID.match(incoming) else hex_id()
        token = request_id_var.set(request_id)
        # Somewhere for the metering to put the key's metrics (the object itself, so copies of
        # the scope further in still reach it). The scope is this request's own: set in place.
        key = KeyMetrics()
        scope[KEY_METRICS_SCOPE] = key
        started = time.perf_counter()
        status = 0
        started_response = False
        limit = self.max_body_bytes

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        try:
            if length is not None and length > limit:
                response = error_response(
                    scope["path"], PayloadTooLargeError(f"Request body exceeds {limit} bytes")
                )
                await response(scope, receive, send_with_id)
                return
            await self.app(scope, limited_receive, send_with_id)
        except Exception as exc:
            # Answered here rather than by Starlette's outermost handler: that one sits
            # outside this middleware (no request id, status logged as 0) and re-raises,
            # which makes uvicorn drop the keep-alive connection. The data plane has no
            # ExceptionMiddleware (relay.http.app.DataPlaneApp): its RelayErrors and
            # HTTPExceptions are answered here too.
            known = None if started_response else await known_error_response(scope, exc)
            if known is None:
                logger.exception("unhandled error")
                if started_response:
                    raise  # a body was already under way; only closing the connection is left
                known = error_response(scope["path"], RelayError("Internal error; see the request id"))
            await known(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            request_line(scope.get("method"), scope.get("path"), status, duration_ms, request_id, key)
            request_id_var.reset(token)
