"""Testing functions for structured answers: JSON, regular expressions and numbers, scored 0 or 1."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Python's re has no timeout, so untrusted patterns are bounded instead: a short pattern, a bounded
# subject and no quantified group that itself contains a quantifier (the shape of `(a+)+`, whose
# backtracking is exponential). Atomic groups and possessive quantifiers remain available.
MAX_PATTERN_CHARS = 512
MAX_SUBJECT_CHARS = 20_000
_REPEAT = re.compile(r"[*+]|\{\d*,\d*\}")  # variable repetition; `{3}` cannot backtrack

_NUMBER = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+(?:[eE][-+]?\d+)?"
)
_FENCE = re.compile(r"^```[\w-]*\s*\n(.*?)\n?```$", re.DOTALL)
RELATIVE_TOLERANCE = 1e-2
ABSOLUTE_TOLERANCE = 1e-6

_MISSING = object()


def _skip_class(pattern: str, start: int) -> int:
    """Index just past the character class opening at start (its `+` and `*` are literals)."""
    end = start + 1
    if pattern[end : end + 1] == "^":
        end += 1
    if pattern[end : end + 1] == "]":
        end += 1
    while end < len(pattern) and pattern[end] != "]":
        end += 2 if pattern[end] == "\\" else 1
    return end + 1


def has_nested_quantifier(pattern: str) -> bool:
    """True when a group containing a repetition is itself repeated without bound, as in `(a+)+`.

    Atomic groups `(?>…)` and possessive repeats `…)++` never backtrack, so they pass.
    """
    # One [repeated inside, atomic] pair per open group; index 0 stands for the whole pattern.
    groups: list[list[bool]] = [[False, False]]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _skip_class(pattern, index)
            continue
        if char == "(":
            groups.append([False, pattern.startswith("(?>", index)])
        elif char == ")" and len(groups) > 1:
            repeated, atomic = groups.pop()
            inner = repeated and not atomic
            outer = _REPEAT.match(pattern, index + 1)
            if inner and outer and pattern[outer.end() : outer.end() + 1] != "+":
                return True
            groups[-1][0] = groups[-1][0] or inner
        elif _REPEAT.match(pattern, index):
            groups[-1][0] = True
        index += 1
    return False


def _parse_json(text: str) -> Any:
    """The JSON value in text (a single surrounding Markdown code fence allowed), or _MISSING."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return _MISSING


def _canonical(value: Any) -> Any:
    """A form where equality is JSON equality: true is not 1, and key order does not matter."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, list):
        return ("array", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((key, _canonical(item)) for key, item in value.items())))
    return (type(value).__name__, value)


def json_validity(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when the prediction is a JSON document (optionally inside one Markdown code fence)."""
    return 0.0 if _parse_json(predicted_output) is _MISSING else 1.0


def json_match(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when both texts parse as JSON and hold the same value (object key order ignored)."""
    expected = _parse_json(expected_output)
    predicted = _parse_json(predicted_output)
    if expected is _MISSING or predicted is _MISSING:
        return 0.0
    try:
        return 1.0 if _canonical(expected) == _canonical(predicted) else 0.0
    except RecursionError:
        return 0.0


def regex_match(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when the pattern given as expected output matches somewhere in the prediction.

    Anchor the pattern (`^…$`) to require a full match. Invalid, over-long and nested-quantifier
    patterns score 0.0 rather than raising or hanging.
    """
    pattern = expected_output
    if not pattern or len(pattern) > MAX_PATTERN_CHARS or has_nested_quantifier(pattern):
        return 0.0
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return 0.0
    return 1.0 if compiled.search(predicted_output[:MAX_SUBJECT_CHARS]) else 0.0


def _first_number(text: str) -> float | None:
    found = _NUMBER.search(text)
    if found is None:
        return None
    try:
        value = float(found.group(0).replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def numeric_tolerance(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when the first numbers in both texts agree within 1 % relative or 1e-6 absolute."""
    expected = _first_number(expected_output)
    predicted = _first_number(predicted_output)
    if expected is None or predicted is None:
        return 0.0
    close = math.isclose(expected, predicted, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    return 1.0 if close else 0.0
