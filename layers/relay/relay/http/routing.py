"""Routes without FastAPI: the data plane's endpoints, each `async (Request) -> Response`.

FastAPI costs about 200 ms of cold import and, per request, a dependency solve, a second
route match and a body parse through its own machinery. The inference routes need none of
it: an `Endpoint` is a Starlette route that says who may call it (`need`, read by the auth
gate) and which pydantic model its JSON body is (`body`, read by the OpenAPI document), and
the handler parses that body itself with the model's JSON validator (`json_body`).

Everything FastAPI did on these routes is kept: the auth gate runs first, the body is read
as JSON whatever the Content-Type says (curl's default is form-encoded), and a body that
does not validate is a 400 listing every problem with its field, exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from relay.backends.threads import CALLS
from relay.errors import BadRequestError, RelayError
from relay.http.problems import describe
from relay.services.keys.models import Principal

Need = Literal["key", "admin"]
Handler = Callable[[Request], Awaitable[Response]]
ModelT = TypeVar("ModelT", bound=BaseModel)
P = ParamSpec("P")
R = TypeVar("R")

STATE_KEY = "principal"
_MULTIPART = b"multipart/"


class Endpoint(Route):
    """A Starlette route with what the gate and the OpenAPI document need to know."""

    def __init__(
        self,
        path: str,
        handler: Handler,
        *,
        method: str,
        need: Need | None = "key",
        body: type[BaseModel] | Callable[[], type[BaseModel]] | None = None,
        include_in_schema: bool = True,
    ) -> None:
        super().__init__(path, handler, methods=[method], include_in_schema=include_in_schema)
        self.need = need
        # The model, or a function that imports it: routes whose models a cold start should
        # not load (Messages, Responses) name them lazily; only the OpenAPI document asks.
        self._body = body
        self.handler = handler
        self.method = method.lower()
        self.app = self._serve

    @property
    def body(self) -> type[BaseModel] | None:
        body = self._body
        if body is None or isinstance(body, type):
            return body
        return body()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Without Starlette's per-request exception wrapper: an error raised here reaches
        # RequestContextMiddleware on the data plane (relay.http.errors.known_error_response)
        # and the ExceptionMiddleware of the FastAPI apps, which answer it the same way.
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


async def blocking(call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """`call(*args, **kwargs)` on a worker thread (relay.backends.threads: in a copy of the
    request's context, a fraction of the cost of anyio's or the executor's hop), awaited."""
    return await CALLS.run(call, *args, **kwargs)


def exact_routes(routes: Sequence[BaseRoute]) -> dict[tuple[str, str], BaseRoute]:
    """(method, path) -> the route the router would pick, for paths without parameters that no
    route with parameters could take instead (the router would try that one first). The first
    route for a method and path wins, as it does in the router."""
    templated = [r for r in routes if "{" in getattr(r, "path", "{")]
    found: dict[tuple[str, str], BaseRoute] = {}
    for route in routes:
        path, methods = getattr(route, "path", "{"), getattr(route, "methods", None) or ()
        if "{" in path:
            continue
        for method in methods:
            probe = {"type": "http", "path": path, "method": method, "root_path": ""}
            if not any(r.matches(probe)[0] is not Match.NONE for r in templated):
                found.setdefault((method, path), route)
    return found


def endpoints(*groups: Sequence[BaseRoute]) -> list[BaseRoute]:
    return [route for group in groups for route in group]


def principal_of(request: Request) -> Principal:
    """The caller the auth gate admitted (every keyed endpoint is behind the gate)."""
    principal = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(principal, Principal):
        raise RelayError("The request reached a keyed route without passing the auth gate")
    return principal


def _content_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value
    return b""


async def _body(request: Request) -> bytes:
    """The whole body, read straight from `receive` (one message, for any body a client sends
    in one piece) and left on the request for anyone who asks again."""
    message = await request.receive()
    body: bytes = message.get("body", b"")
    if message.get("more_body", False):
        chunks = [body]
        while message.get("more_body", False):
            message = await request.receive()
            chunks.append(message.get("body", b""))
        body = b"".join(chunks)
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    request._body = body
    return body


async def json_body(request: Request, model: type[ModelT]) -> ModelT:
    """The body as `model`, read as JSON whatever the Content-Type header says.

    The valid case is one pass of pydantic's JSON validator over the raw bytes. Anything
    else takes the old path (json.loads, then validation of the object), so what is
    accepted and every error message are what they were: UTF-16 bodies, NaN, lone
    surrogates and deep nesting included.
    """
    raw = await _body(request)
    if _content_type(request.scope).lower().startswith(_MULTIPART):
        raise BadRequestError("Send the body as JSON with Content-Type: application/json")
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        pass
    if not raw.strip():
        raise BadRequestError("The request needs a JSON body with Content-Type: application/json")
    try:
        payload: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequestError(f"Malformed JSON body: {exc}") from None
    except RecursionError:
        raise BadRequestError("The JSON body is nested too deeply") from None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise describe(exc.errors(), payload) from None
    except RecursionError:
        raise BadRequestError("The JSON body is nested too deeply") from None
