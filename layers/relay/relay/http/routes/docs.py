"""`GET /openapi.json` and `GET /docs`: the API described from the routes' own pydantic models.

Served without a key: they hold no data, and a developer reads them before having a key.
The document covers both planes (a deployment serves it from the control plane), so it is
built on first request, not at import: the control plane does not import the inference
routers at cold start. Swagger UI's files come from the pinned `swagger-ui-bundle-v2`
package, served from here, so the page needs no CDN.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.responses import HTMLResponse, JSONResponse, Response

import relay
from relay.errors import NotFoundError
from relay.http.envelope import is_anthropic_path, is_control_path
from relay.http.openapi_extras import EXAMPLES, FORMS, JSON_BODIES, TAGS, error_schemas
from relay.http.routing import Endpoint

router = APIRouter()

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
DESCRIPTION = (
    "An OpenAI-compatible API for Amazon Bedrock and Amazon SageMaker, plus a control plane for "
    "projects, datasets, training and deployments. Send the key as `Authorization: Bearer <key>` "
    "or `X-API-Key: <key>`. Inference routes answer errors in OpenAI's envelope, `/v1/messages` in "
    'Anthropic\'s `{"type": "error", "error": {...}}`, control routes in `{"status", "error", "code"}`.'
)
# The page finds the document and the API next to itself, so it works under an API Gateway
# stage prefix (/Prod/docs) as well as on the local stack (/docs).
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Relay API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
const base = location.pathname.replace(/\\/docs\\/?$/, "");
fetch(base + "/openapi.json").then((r) => r.json()).then((spec) => {
  spec.servers = [{url: location.origin + base}];
  window.ui = SwaggerUIBundle({spec: spec, dom_id: "#swagger-ui", deepLinking: true});
});
</script>
</body>
</html>
"""


def _schema_of(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """`model`'s JSON schema as a $ref, its nested definitions moved into the components."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def describe(document: dict[str, Any]) -> dict[str, Any]:
    """Add what FastAPI cannot see: bodies parsed by hand, forms, auth, tags, examples, error envelopes."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(error_schemas())
    document["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    document["security"] = [{"bearer": []}, {"apiKey": []}]
    for path, method, operation in _operations(document):
        key = (method, path)
        if key in JSON_BODIES:
            model, required = JSON_BODIES[key]
            operation["requestBody"] = {
                "required": required,
                "content": {"application/json": {"schema": _schema_of(model, components)}},
            }
        if key in FORMS:
            operation["requestBody"] = {
                "required": True,
                "content": {"multipart/form-data": {"schema": FORMS[key]}},
            }
        if key in EXAMPLES:
            for content in operation.get("requestBody", {}).get("content", {}).values():
                content["example"] = EXAMPLES[key]
        operation["tags"] = operation.get("tags") or [
            next(tag for prefix, tag in TAGS if path.startswith(prefix))
        ]
        envelope = (
            "ControlPlaneError"
            if is_control_path(path)
            else "AnthropicError"
            if is_anthropic_path(path)
            else "OpenAIError"
        )
        operation.setdefault("responses", {})["default"] = {
            "description": "An error, in this route's envelope",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{envelope}"}}},
        }
        if path.startswith("/v1/models"):
            # Public unless the stack's ModelsRequireKey parameter says otherwise.
            operation["security"] = [{}, {"bearer": []}, {"apiKey": []}]
    return document


def _endpoint_operation(endpoint: Endpoint, components: dict[str, Any]) -> dict[str, Any]:
    """What FastAPI would say of a route, for the data plane's plain routes."""
    name = endpoint.handler.__name__
    operation: dict[str, Any] = {
        "summary": name.replace("_", " ").title(),
        "operationId": re.sub(r"\W", "_", f"{name}{endpoint.path}") + f"_{endpoint.method}",
        "responses": {"200": {"description": "Successful Response"}},
    }
    if endpoint.handler.__doc__:
        operation["description"] = endpoint.handler.__doc__.strip()
    parameters = [
        {"name": param, "in": "path", "required": True, "schema": {"type": "string", "title": param.title()}}
        for param in endpoint.param_convertors
    ]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_of(endpoint.body, components)}},
        }
    return operation


@cache
def openapi_document() -> dict[str, Any]:
    from relay.http.app import control_plane_routers, data_plane_routes

    routes, seen = [], set()
    for api_router in control_plane_routers():
        if id(api_router) not in seen:
            seen.add(id(api_router))
            routes.extend(api_router.routes)
    document = get_openapi(title="Relay", version=relay.__version__, description=DESCRIPTION, routes=routes)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    plain = [r for r in data_plane_routes() if isinstance(r, Endpoint) and r.include_in_schema]
    for endpoint in plain:
        item = document["paths"].setdefault(endpoint.path, {})
        item[endpoint.method] = _endpoint_operation(endpoint, components)
    return describe(document)


@cache
def _asset(name: str) -> bytes:
    from swagger_ui_bundle import swagger_ui_path

    return (swagger_ui_path / name).read_bytes()


@router.get("/openapi.json", include_in_schema=False)
async def openapi_json() -> JSONResponse:
    return JSONResponse(openapi_document())


@router.get("/docs", include_in_schema=False)
async def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/docs/{asset}", include_in_schema=False)
async def docs_asset(asset: str) -> Response:
    if asset not in ASSETS:
        raise NotFoundError(f"No documentation asset named {asset}")
    return Response(
        _asset(asset), media_type=ASSETS[asset], headers={"Cache-Control": "public, max-age=86400"}
    )
