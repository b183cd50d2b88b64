"""The `bedrock` control API: ListFoundationModels, GetFoundationModel, ListInferenceProfiles."""

from __future__ import annotations

from local.emulators.catalog import FOUNDATION_MODELS, PROFILES, model_summary, profile_summary
from local.emulators.server import Request, Response, Router, aws_error


def list_foundation_models(request: Request) -> Response:
    wanted_output = request.query.get("byOutputModality", [None])[0]
    summaries = [model_summary(*row) for row in FOUNDATION_MODELS if wanted_output in (None, row[3])]
    return Response.json({"modelSummaries": summaries})


def get_foundation_model(request: Request) -> Response:
    model_id = request.params["model_id"]
    for row in FOUNDATION_MODELS:
        if row[0] == model_id:
            return Response.json({"modelDetails": model_summary(*row)})
    return aws_error(404, "ResourceNotFoundException", f"Model {model_id} not found")


def list_inference_profiles(request: Request) -> Response:
    # Pages of at most 3 (the real API may return fewer than maxResults), so clients must
    # follow nextToken.
    max_results = min(int(request.query.get("maxResults", ["3"])[0]), 3)
    start = int(request.query.get("nextToken", ["0"])[0] or 0)
    page = PROFILES[start : start + max_results]
    body: dict[str, object] = {"inferenceProfileSummaries": [profile_summary(*p) for p in page]}
    if start + max_results < len(PROFILES):
        body["nextToken"] = str(start + max_results)
    return Response.json(body)


def register(router: Router) -> None:
    router.add("GET", "/foundation-models", list_foundation_models)
    router.add("GET", "/foundation-models/(?P<model_id>[^/]+)", get_foundation_model)
    router.add("GET", "/inference-profiles", list_inference_profiles)
