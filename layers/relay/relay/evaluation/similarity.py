"""Testing functions that compare free text: every one maps (input, expected, predicted) to [0, 1].

The input text is part of the common signature (GRPO rewards and the testing step call every
function the same way); these functions judge the prediction against the expectation only.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter
from collections.abc import Sequence

from relay.evaluation._text import clamp, edit_distance, lcs_length, normalize, tokens

# difflib's matcher is quadratic on repetitive text (two runs of 5,000 equal characters take seconds),
# so beyond this many character pairs sequence_similarity compares words, truncated to fit the same budget.
MAX_MATCHER_PAIRS = 4_000_000


def exact_match(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when the prediction equals the expectation, ignoring only leading and trailing whitespace."""
    return 1.0 if predicted_output.strip() == expected_output.strip() else 0.0


def normalized_match(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when both texts are equal after case folding, dropping punctuation and collapsing whitespace."""
    return 1.0 if normalize(predicted_output) == normalize(expected_output) else 0.0


def contains_match(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1.0 when the normalised expectation occurs in the normalised prediction as whole words.

    An empty expectation matches only an empty prediction, so it cannot reward every output.
    """
    expected = normalize(expected_output)
    predicted = normalize(predicted_output)
    if not expected:
        return 1.0 if not predicted else 0.0
    return 1.0 if f" {expected} " in f" {predicted} " else 0.0


def token_f1(input_text: str, expected_output: str, predicted_output: str) -> float:
    """Harmonic mean of word precision and recall (bag of words, SQuAD style)."""
    expected = Counter(tokens(expected_output))
    predicted = Counter(tokens(predicted_output))
    if not expected or not predicted:
        return 1.0 if expected == predicted else 0.0
    overlap = sum((expected & predicted).values())
    if overlap == 0:
        return 0.0
    precision = overlap / sum(predicted.values())
    recall = overlap / sum(expected.values())
    return clamp(2 * precision * recall / (precision + recall))


def sequence_similarity(input_text: str, expected_output: str, predicted_output: str) -> float:
    """difflib's ratio of matching characters, 2·M / (len(expected) + len(predicted)).

    Texts with more than 4 million character pairs are compared word by word (first 2,000 words).
    """
    if not expected_output and not predicted_output:
        return 1.0
    expected: Sequence[str] = expected_output
    predicted: Sequence[str] = predicted_output
    if len(expected_output) * len(predicted_output) > MAX_MATCHER_PAIRS:
        limit = math.isqrt(MAX_MATCHER_PAIRS)
        expected, predicted = expected_output.split()[:limit], predicted_output.split()[:limit]
    matcher = difflib.SequenceMatcher(None, expected, predicted, autojunk=False)
    return clamp(matcher.ratio())


def levenshtein_similarity(input_text: str, expected_output: str, predicted_output: str) -> float:
    """1 - character edit distance / length of the longer text."""
    longest = max(len(expected_output), len(predicted_output))
    if longest == 0:
        return 1.0
    return clamp(1.0 - edit_distance(expected_output, predicted_output) / longest)


def rouge_l(input_text: str, expected_output: str, predicted_output: str) -> float:
    """ROUGE-L F1: the longest common word subsequence over the lengths of both texts."""
    expected = tokens(expected_output)
    predicted = tokens(predicted_output)
    if not expected or not predicted:
        return 1.0 if expected == predicted else 0.0
    common = lcs_length(expected, predicted)
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return clamp(2 * precision * recall / (precision + recall))


def bleu(input_text: str, expected_output: str, predicted_output: str) -> float:
    """Sentence BLEU up to 4-grams with add-one smoothing above unigrams and a brevity penalty."""
    expected = tokens(expected_output)
    predicted = tokens(predicted_output)
    if not expected or not predicted:
        return 1.0 if expected == predicted else 0.0
    max_order = min(4, len(expected), len(predicted))
    log_precision = 0.0
    for n in range(1, max_order + 1):
        reference = Counter(tuple(expected[i : i + n]) for i in range(len(expected) - n + 1))
        candidate = Counter(tuple(predicted[i : i + n]) for i in range(len(predicted) - n + 1))
        matches = sum((reference & candidate).values())
        total = sum(candidate.values())
        if n == 1:
            if matches == 0:
                return 0.0
            log_precision += math.log(matches / total)
        else:
            # Smoothing keeps one missing 4-gram in a short answer from zeroing the whole score.
            log_precision += math.log((matches + 1) / (total + 1))
    brevity = 1.0 if len(predicted) >= len(expected) else math.exp(1 - len(expected) / len(predicted))
    return clamp(brevity * math.exp(log_precision / max_order))
