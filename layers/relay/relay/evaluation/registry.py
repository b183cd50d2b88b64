"""The built-in testing functions by name: scoring for the testing step, rewards for GRPO, and the
items of `GET /v1/testing-functions`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypedDict

from relay.evaluation import similarity, structured

TestingFunction = Callable[[str, str, str], float]


class TestingFunctionDescription(TypedDict):
    """One item of `GET /v1/testing-functions` (the spec's TestingFunctionSummary)."""

    name: str
    content: str
    dependencies: list[str]


TESTING_FUNCTIONS: dict[str, TestingFunction] = {
    function.__name__: function
    for function in (
        similarity.exact_match,
        similarity.normalized_match,
        similarity.contains_match,
        similarity.token_f1,
        similarity.sequence_similarity,
        similarity.levenshtein_similarity,
        similarity.rouge_l,
        similarity.bleu,
        structured.json_validity,
        structured.json_match,
        structured.regex_match,
        structured.numeric_tolerance,
    )
}

# Every built-in function is pure standard library; the field exists for user-supplied functions.
_DEPENDENCIES: dict[str, list[str]] = {name: [] for name in TESTING_FUNCTIONS}


def _source(function: TestingFunction) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        # A layer built without .py sources still lists the function, by its signature.
        return f"def {function.__name__}{inspect.signature(function)}: ..."


def describe() -> list[TestingFunctionDescription]:
    """The spec's TestingFunctionSummary for every built-in function, sorted by name."""
    return [
        {"name": name, "content": _source(function), "dependencies": list(_DEPENDENCIES[name])}
        for name, function in sorted(TESTING_FUNCTIONS.items())
    ]


def get(name: str) -> TestingFunction:
    """The testing function called name; KeyError naming the known functions otherwise."""
    try:
        return TESTING_FUNCTIONS[name]
    except KeyError:
        known = ", ".join(sorted(TESTING_FUNCTIONS))
        raise KeyError(f"unknown testing function {name!r}; known: {known}") from None


def score(name: str, input_text: str, expected_output: str, predicted_output: str) -> float:
    """The named function's score for one row, in [0, 1]; KeyError for an unknown name."""
    return get(name)(input_text, expected_output, predicted_output)
