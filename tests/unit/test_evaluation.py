"""Built-in testing functions: scores users see in test results and as GRPO rewards."""

from __future__ import annotations

import ast
import random
import time

import pytest

from relay.evaluation import TESTING_FUNCTIONS, describe, get, score
from relay.evaluation._text import edit_distance, lcs_length
from relay.evaluation.similarity import (
    bleu,
    contains_match,
    exact_match,
    levenshtein_similarity,
    normalized_match,
    rouge_l,
    sequence_similarity,
    token_f1,
)
from relay.evaluation.structured import (
    has_nested_quantifier,
    json_match,
    json_validity,
    numeric_tolerance,
    regex_match,
)

pytestmark = pytest.mark.unit

SAMPLES = [
    "",
    " ",
    "Paris",
    "paris!",
    "Die Straße ist groß",
    "東京は日本の首都です",
    '{"a": 1}',
    "3.14",
    "a" * 5000,
]


@pytest.mark.parametrize("name", sorted(TESTING_FUNCTIONS))
def test_every_function_scores_in_unit_interval_for_awkward_inputs(name: str) -> None:
    function = TESTING_FUNCTIONS[name]
    for expected in SAMPLES:
        for predicted in SAMPLES:
            value = function("question", expected, predicted)
            assert isinstance(value, float)
            assert 0.0 <= value <= 1.0, (name, expected[:20], predicted[:20], value)


@pytest.mark.parametrize(
    "name", ["exact_match", "normalized_match", "token_f1", "sequence_similarity", "rouge_l", "bleu"]
)
def test_identical_text_scores_one_and_unrelated_text_scores_below_one(name: str) -> None:
    text = "The capital of France is Paris"
    assert score(name, "q", text, text) == 1.0
    assert score(name, "q", text, "Bananas grow on trees in warm places") < 0.5


def test_exact_match_ignores_only_surrounding_whitespace() -> None:
    assert exact_match("", "Paris", "  Paris\n") == 1.0
    assert exact_match("", "Paris", "paris") == 0.0
    assert exact_match("", "", "") == 1.0
    assert exact_match("", "", "x") == 0.0


def test_normalized_match_ignores_case_punctuation_whitespace_and_unicode_forms() -> None:
    assert normalized_match("", "Hello, World!", "  hello   world ") == 1.0
    assert normalized_match("", "STRASSE", "straße") == 1.0  # casefold, not lower
    fullwidth = "".join(chr(ord(char) + 0xFEE0) for char in "fullwidth")
    assert normalized_match("", fullwidth, "fullwidth") == 1.0  # NFKC
    assert normalized_match("", "東京。", "東京") == 1.0
    assert normalized_match("", "end.Start", "endstart") == 0.0
    assert normalized_match("", "Paris", "Lyon") == 0.0


def test_contains_match_needs_whole_words_and_never_rewards_an_empty_expectation() -> None:
    assert contains_match("", "Paris", "The answer is: paris.") == 1.0
    assert contains_match("", "par", "The answer is Paris") == 0.0
    assert contains_match("", "new york", "I love New-York city") == 1.0
    assert contains_match("", "", "anything") == 0.0
    assert contains_match("", "", "") == 1.0


def test_token_f1_is_the_harmonic_mean_of_word_precision_and_recall() -> None:
    # 2 shared words; precision 2/4, recall 2/2 -> F1 = 2/3.
    assert token_f1("", "blue sky", "the blue sky today") == pytest.approx(2 / 3)
    assert token_f1("", "a a b", "a b b") == pytest.approx(2 / 3)
    assert token_f1("", "", "") == 1.0
    assert token_f1("", "", "word") == 0.0
    assert token_f1("", "word", "!!!") == 0.0


def test_sequence_similarity_is_difflib_ratio() -> None:
    assert sequence_similarity("", "abcd", "abce") == pytest.approx(0.75)
    assert sequence_similarity("", "", "") == 1.0
    assert sequence_similarity("", "abc", "") == 0.0
    assert sequence_similarity("", "héllo", "hello") == pytest.approx(0.8)


def test_levenshtein_similarity_counts_edits_relative_to_the_longer_text() -> None:
    assert levenshtein_similarity("", "kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert levenshtein_similarity("", "", "") == 1.0
    assert levenshtein_similarity("", "abc", "") == 0.0
    assert levenshtein_similarity("", "naïve", "naive") == pytest.approx(0.8)
    assert levenshtein_similarity("", "prefix-same-suffix", "prefix-sXme-suffix") == pytest.approx(1 - 1 / 18)


def _table_edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _table_lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for item in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if item == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def test_bit_parallel_distances_agree_with_the_textbook_tables() -> None:
    generator = random.Random(7)
    for _ in range(400):
        a = "".join(generator.choice("abcé ") for _ in range(generator.randint(0, 70)))
        b = "".join(generator.choice("abcdé ") for _ in range(generator.randint(0, 70)))
        assert edit_distance(a, b) == _table_edit_distance(a, b), (a, b)
        assert lcs_length(list(a), list(b)) == _table_lcs(list(a), list(b)), (a, b)


def test_long_texts_are_scored_exactly_and_quickly() -> None:
    expected = "x" * 30_000
    predicted = "x" * 29_990 + "y" * 10
    started = time.perf_counter()
    assert levenshtein_similarity("", expected, predicted) == pytest.approx(1 - 10 / 30_000)
    assert rouge_l("", " ".join(["w"] * 20_000), " ".join(["w"] * 10_000)) == pytest.approx(2 / 3)
    assert sequence_similarity("", "a" * 5000, "a" * 5000) == 1.0
    assert time.perf_counter() - started < 3


def test_rouge_l_uses_the_longest_common_subsequence() -> None:
    # LCS("the cat sat on the mat", "the cat lay on a mat") = the cat on mat -> 4 of 6 each way.
    assert rouge_l("", "the cat sat on the mat", "the cat lay on a mat") == pytest.approx(4 / 6)
    assert rouge_l("", "a b c", "c b a") == pytest.approx(1 / 3)
    assert rouge_l("", "", "") == 1.0
    assert rouge_l("", "x", "") == 0.0


def test_bleu_rewards_order_and_penalises_short_answers() -> None:
    reference = "the quick brown fox jumps over the lazy dog"
    in_order = bleu("", reference, "the quick brown fox jumps over a lazy dog")
    shuffled = bleu("", reference, "dog lazy a over jumps fox brown quick the")
    truncated = bleu("", reference, "the quick brown fox")
    assert 0.0 < shuffled < in_order < 1.0
    assert truncated < in_order
    assert bleu("", reference, "completely different words here") == 0.0
    assert bleu("", "", "") == 1.0


def test_json_validity_accepts_documents_and_one_code_fence_only() -> None:
    assert json_validity("", "", '{"a": [1, 2]}') == 1.0
    assert json_validity("", "", '```json\n{"a": 1}\n```') == 1.0
    assert json_validity("", "", "42") == 1.0
    assert json_validity("", "", "{'a': 1}") == 0.0
    assert json_validity("", "", "") == 0.0
    assert json_validity("", "", 'Sure! {"a": 1}') == 0.0
    assert json_validity("", "", "[" * 100_000) == 0.0


def test_json_match_compares_values_not_text() -> None:
    assert json_match("", '{"a": 1, "b": [1, 2]}', '{"b": [1, 2], "a": 1.0}') == 1.0
    assert json_match("", '{"a": true}', '{"a": 1}') == 0.0
    assert json_match("", "[1, 2]", "[2, 1]") == 0.0
    assert json_match("", '{"name": "Zoë"}', '{"name": "Zo\\u00eb"}') == 1.0
    assert json_match("", "not json", "not json") == 0.0
    assert json_match("", "null", "null") == 1.0


def test_regex_match_searches_with_the_expected_pattern() -> None:
    assert regex_match("", r"\d{3}-\d{4}", "call 555-1234 now") == 1.0
    assert regex_match("", r"^\d{3}$", "1234") == 0.0
    assert regex_match("", r"<answer>.+</answer>", "<answer>42</answer>") == 1.0
    assert regex_match("", r"東京", "東京タワー") == 1.0


def test_regex_match_scores_zero_for_bad_or_dangerous_patterns_without_hanging() -> None:
    assert regex_match("", "(unclosed", "(unclosed") == 0.0
    assert regex_match("", "", "anything") == 0.0
    assert regex_match("", "a" * 513, "a" * 513) == 0.0
    started = time.perf_counter()
    assert regex_match("", r"^(a+)+$", "a" * 40 + "!") == 0.0
    assert regex_match("", r"^(?:\w*)*$", "x" * 40 + "!") == 0.0
    assert time.perf_counter() - started < 1
    # Atomic groups cannot backtrack, so they remain usable.
    assert regex_match("", r"^(?>a+)+$", "aaaa") == 1.0


@pytest.mark.parametrize(
    ("pattern", "nested"),
    [
        ("(a+)+", True),
        ("((ab*))*", True),
        ("(x{1,})+", True),
        ("(a+)++", False),
        ("(?>a+)+", False),
        ("[(a+)]+", False),
        (r"\(a+\)+", False),
        ("(ab)+", False),
        ("(a{2})+", False),
        ("(a+)?", False),
    ],
)
def test_nested_quantifier_detection(pattern: str, nested: bool) -> None:
    assert has_nested_quantifier(pattern) is nested


def test_numeric_tolerance_compares_the_first_numbers_within_one_percent() -> None:
    assert numeric_tolerance("", "42", "The answer is 42.0.") == 1.0
    assert numeric_tolerance("", "100", "about 100.9") == 1.0
    assert numeric_tolerance("", "100", "101.5") == 0.0
    assert numeric_tolerance("", "1,234.5", "1234.5") == 1.0
    assert numeric_tolerance("", "-3", "3") == 0.0
    assert numeric_tolerance("", "0", "0.0000001") == 1.0
    assert numeric_tolerance("", "0", "0.001") == 0.0
    assert numeric_tolerance("", "6.02e23", "6.0e23") == 1.0
    assert numeric_tolerance("", "7", "seven") == 0.0
    assert numeric_tolerance("", "", "") == 0.0


def test_score_looks_functions_up_by_name_and_rejects_unknown_names() -> None:
    assert score("exact_match", "q", "a", "a") == 1.0
    assert get("token_f1") is token_f1
    with pytest.raises(KeyError, match="unknown testing function 'nope'"):
        score("nope", "q", "a", "a")


def test_describe_matches_the_testing_function_summary_schema() -> None:
    items = describe()
    assert [item["name"] for item in items] == sorted(TESTING_FUNCTIONS)
    assert len(items) >= 11
    for item in items:
        assert set(item) == {"name", "content", "dependencies"}
        assert item["dependencies"] == []
        tree = ast.parse(item["content"])
        definition = tree.body[0]
        assert isinstance(definition, ast.FunctionDef)
        assert definition.name == item["name"]
        assert [arg.arg for arg in definition.args.args] == [
            "input_text",
            "expected_output",
            "predicted_output",
        ]


def test_describe_returns_fresh_lists() -> None:
    describe()[0]["dependencies"].append("mutated")
    assert describe()[0]["dependencies"] == []
