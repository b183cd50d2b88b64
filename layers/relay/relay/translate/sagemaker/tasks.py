"""Bodies and answers for TEI rerank, TEI-style classifiers and pass-through invocations."""

from __future__ import annotations

import math
import re
from typing import Any

_DEFAULT_LABEL = re.compile(r"^LABEL_(\d+)$")


def tei_rerank_body(query: str, texts: list[str]) -> dict[str, Any]:
    return {"query": query, "texts": texts, "return_text": False, "raw_scores": False, "truncate": False}


def parse_tei_rerank(answer: Any) -> list[tuple[int, float]]:
    """(index, score) pairs, best first."""
    if not isinstance(answer, list):
        raise ValueError("TEI rerank answered something other than a list")
    pairs = [(int(item["index"]), float(item["score"])) for item in answer]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


def classifier_body(texts: list[str]) -> dict[str, Any]:
    # Raw scores always: logits are what the spec defaults to, and probabilities are
    # computed from them here, so both formats come from one call and agree.
    return {"inputs": texts, "raw_scores": True, "truncate": False}


class LabelMismatchError(ValueError):
    """The container has more classes than the registry has labels for."""


def _label(name: str, labels: tuple[str, ...], classes: int) -> str:
    found = _DEFAULT_LABEL.match(name)
    if not (found and labels):
        return name
    index = int(found.group(1))
    if index >= len(labels):
        # Naming some classes and leaving `LABEL_<i>` beside them would mix two schemes.
        raise LabelMismatchError(
            f"it returned {classes} classes but {len(labels)} labels are registered ({name} has no label)"
        )
    return labels[index]


def parse_classifier(answer: Any, count: int, labels: tuple[str, ...]) -> list[dict[str, float]]:
    """One {label: logit} per input. Generic `LABEL_<i>` names take the registry's labels."""
    rows = answer if count > 1 or (answer and isinstance(answer[0], list)) else [answer]
    if not isinstance(rows, list) or len(rows) != count:
        raise ValueError("the classifier answered a different number of rows")
    return [
        {_label(str(item["label"]), labels, len(row)): float(item["score"]) for item in row} for row in rows
    ]


def softmax(logits: dict[str, float]) -> dict[str, float]:
    if not logits:
        return {}
    peak = max(logits.values())
    exps = {label: math.exp(value - peak) for label, value in logits.items()}
    total = sum(exps.values())
    return {label: value / total for label, value in exps.items()}


def invocation_body(value: Any, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """SageMaker: the Hugging Face convention most containers accept."""
    body: dict[str, Any] = {"inputs": value}
    if parameters:
        body["parameters"] = parameters
    return body
