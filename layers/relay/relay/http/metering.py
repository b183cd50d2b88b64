"""Limits and metering around one inference request, inside the auth gate.

Before the app runs: a limited key's request is admitted by the shared counters or refused
with 429 (no byte of the body read, no upstream call). While it runs: the principal and a
usage meter are bound to the request's context (the resolver checks the key's allow-list,
the services add the usage their responses report). Every response of a limited key carries
OpenAI's `x-ratelimit-*` headers, streams included (they go out with the status line).
After the last byte is sent: the meter is written and the tokens settled on the counters,
off the response path but in the same invocation, so a frozen Lambda loses nothing. The key's
metrics go into the scope, for RequestContextMiddleware to write on the request's one line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.backends.threads import CALLS
from relay.errors import RelayError
from relay.http.envelope import error_response
from relay.observability import add_key_metrics, logger
from relay.services.container import Services
from relay.services.keys import current
from relay.services.keys.models import Principal
from relay.services.limits.service import Admission
from relay.services.usage import meter as usage_meter
from relay.services.usage.meter import RequestMeter

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]

# Routes that call a model. Control routes and reads of stored objects are not metered.
INFERENCE_PATHS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/messages",
        "/v1/responses",
        "/v1/audio/transcriptions",
        "/v1/rerank",
        "/v1/classification",
        "/v1/invocations",
    }
)


def is_inference(scope: Scope) -> bool:
    return scope.get("method") == "POST" and scope["path"] in INFERENCE_PATHS


async def serve_metered(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, services: Services, principal: Principal
) -> None:
    admission: Admission | None = None
    if principal.policy is not None and principal.policy.limited:
        try:
            # A lease slot answers on the event loop; only a counter write takes the thread hop.
            admission = services.limiter.admit_local(principal)
            if admission is None:
                admission = await CALLS.run(services.limiter.admit, principal)
        except RelayError as exc:
            add_key_metrics(scope, principal.key_id, [("KeyThrottles", 1)])
            await error_response(scope["path"], exc)(scope, receive, send)
            return
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in admission.headers()] if admission else []
    status = 0

    async def send_with_limits(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            if extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
        elif (
            admission is not None and message["type"] == "http.response.body" and not message.get("more_body")
        ):
            # Before the last byte: a client that sends its next request on seeing it meets
            # these tokens on this instance (the shared counters get them just after).
            services.limiter.charge(admission, meter.tokens)
        await send(message)

    meter = RequestMeter(principal.key_id)
    principal_token = current.bind(principal)
    meter_token = usage_meter.bind(meter)
    try:
        await app(scope, receive, send_with_limits)
    finally:
        usage_meter.unbind(meter_token)
        current.unbind(principal_token)
        _account(services, meter, status, scope)
        if admission is not None:
            await CALLS.run(_settle, services, admission, meter.tokens, meter.key_id)


def _account(services: Services, meter: RequestMeter, status: int, scope: Scope) -> None:
    """Usage into the buffer and the key's metrics onto the request's line: no IO, so no thread hop."""
    if meter.model is not None or meter.by_model:
        services.usage.record_later(meter)
    tokens = meter.tokens
    values = [("KeyRequests", 1.0), ("KeyTokens", float(tokens))]
    if status == 429:
        values.append(("KeyThrottles", 1.0))
    elif status >= 400 or status == 0:
        values.append(("KeyErrors", 1.0))
    add_key_metrics(scope, meter.key_id, values)


def _settle(services: Services, admission: Admission, tokens: int, key_id: str) -> None:
    try:
        services.limiter.settle(admission, tokens)
    except RelayError:
        # The usage rows hold these tokens; only the limit counters run short by them.
        logger.warning("could not add tokens to the limit counters", extra={"key_id": key_id})


def flushing_lifespan(inner: Lifespan, services: Services) -> Lifespan:
    """The app's lifespan, then at shutdown the usage and tokens this process has not yet written."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            yield state
        if "usage" in services.__dict__:  # never built: nothing was metered
            await CALLS.run(services.usage.flush)
        if "limiter" in services.__dict__:  # never built: nothing was charged
            try:
                await CALLS.run(services.limiter.flush)
            except RelayError:
                logger.warning("could not write the charged tokens to the limit counters at shutdown")

    return lifespan
