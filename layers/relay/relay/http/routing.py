"""Routes without FastAPI: the data plane's endpoints, each `async (Request) -> Response`.

FastAPI costs about 200 ms of cold import and, per request, a dependency solve, a second
route match and a body parse through its own machinery. The inference routes need none of
it: an `Endpoint` is a Starlette route that says who may call it (`need`, read by the auth
gate) and which pydantic model its JSON body is (`body`, read by the OpenAPI document), and
the handler parses that body itself with the model's JSON validator
(`relay.http.bodies.validated_body`).

Everything FastAPI did on these routes is kept: the auth gate runs first, the body is read
as JSON whatever the Content-Type says (curl's default is form-encoded), and a body that
does not validate is a 400 listing every problem with its field, exactly as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from relay.backends.threads import CALLS
from relay.errors import RelayError
from relay.services.keys.models import Principal

if TYPE_CHECKING:
    # pydantic comes with the first route module (relay.http.bodies), not at cold start.
    from pydantic import BaseModel

Need = Literal["key", "admin"]
Handler = Callable[[Request], Awaitable[Response]]
P = ParamSpec("P")
R = TypeVar("R")

STATE_KEY = "principal"


class Endpoint(Route):
    """A Starlette route with what the gate and the OpenAPI document need to know.

    `handler` and `body` may be named as "module:attribute" instead of given: the module is
    imported by the route's first request (or the OpenAPI document, or SnapStart's prime), so
    a cold start does not load the routes, wire models and translators it does not serve.
    """

    def __init__(
        self,
        path: str,
        handler: Handler | str,
        *,
        method: str,
        need: Need | None = "key",
        body: type[BaseModel] | str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        super().__init__(
            path,
            self._serve if isinstance(handler, str) else handler,
            methods=[method],
            name=handler.rpartition(":")[2] if isinstance(handler, str) else None,
            include_in_schema=include_in_schema,
        )
        self.need = need
        self._handler: Handler | None = None if isinstance(handler, str) else handler
        self._handler_ref = handler if isinstance(handler, str) else ""
        self._body = body
        self.method = method.lower()
        self.app = self._serve

    @property
    def handler(self) -> Handler:
        return self._handler or self.load()

    @property
    def body(self) -> type[BaseModel] | None:
        body = self._body
        if isinstance(body, str):
            body = self._body = _resolve(body)
        return body

    def load(self) -> Handler:
        """Import the handler (and its module) if it was named; SnapStart's prime calls this."""
        if self._handler is None:
            self._handler = _resolve(self._handler_ref)
        return self._handler

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Without Starlette's per-request exception wrapper: an error raised here reaches
        # RequestContextMiddleware on the data plane (relay.http.errors.known_error_response)
        # and the ExceptionMiddleware of the FastAPI apps, which answer it the same way.
        handler = self._handler or self.load()
        response = await handler(Request(scope, receive))
        await response(scope, receive, send)


def _resolve(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


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


def principal_of(request: Request) -> Principal:
    """The caller the auth gate admitted (every keyed endpoint is behind the gate)."""
    principal = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(principal, Principal):
        raise RelayError("The request reached a keyed route without passing the auth gate")
    return principal
