"""Which serving container an ECR image is, by repository name, and the container settings we honour.

| ECR repository (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`) | kind            |
|---------------------------------------------------------------------------|-----------------|
| `djl-inference`, `vllm`, `sglang` (OpenAI-compatible: LMI, vLLM, SGLang)  | text-generation |
| `huggingface-pytorch-inference` (HF inference toolkit)                    | classifier      |
| `tei`, `huggingface-tei`, `tei-cpu`, `huggingface-tei-cpu`                | embedding       |

The repository is the last path segment, so `…/djl-inference:0.33.0-lmi15.0.0-cu128` and
`…/my-team/vllm@sha256:…` both match. Any other image is not served for real (the runtime falls
back to the canned flavour its endpoint name names, as before).
"""

from __future__ import annotations

import re

KINDS_BY_REPOSITORY = {
    "djl-inference": "text-generation",
    "vllm": "text-generation",
    "sglang": "text-generation",
    "huggingface-pytorch-inference": "classifier",
    "tei": "embedding",
    "huggingface-tei": "embedding",
    "tei-cpu": "embedding",
    "huggingface-tei-cpu": "embedding",
}
# The checkpoint's task type (relay_model.json, or RELAY_TASK_TYPE) each kind serves.
TASKS_BY_KIND = {
    "text-generation": ("text-generation",),
    "classifier": ("classification", "regression"),
    "embedding": ("embedding",),
}
IMAGE = re.compile(
    r"^(?P<registry>[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?)/"
    r"(?P<path>[a-z0-9._/-]+)(:(?P<tag>[A-Za-z0-9._-]{1,128})|@sha256:[0-9a-f]{64})?$"
)
# Where the model id may point (LMI reads OPTION_MODEL_ID, the HF containers HF_MODEL_ID).
MODEL_ID_VARIABLES = ("OPTION_MODEL_ID", "HF_MODEL_ID")
SERVED_NAME_VARIABLES = ("SERVED_MODEL_NAME", "OPTION_SERVED_MODEL_NAME")
TASK_VARIABLE = "RELAY_TASK_TYPE"
BASE_MODEL_VARIABLE = "RELAY_BASE_MODEL_URL"
LABELS_VARIABLE = "RELAY_LABELS"


def is_valid_image(image: str) -> bool:
    return bool(IMAGE.match(image))


def repository(image: str) -> str | None:
    found = IMAGE.match(image)
    return found.group("path").rsplit("/", 1)[-1] if found else None


def kind_of(image: str) -> str | None:
    """text-generation, classifier or embedding; None for an image the stand-in does not serve."""
    name = repository(image)
    return KINDS_BY_REPOSITORY.get(name) if name else None


def first(environment: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((environment[n] for n in names if environment.get(n)), None)
