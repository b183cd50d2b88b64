"""Text normalisation and tokenisation shared by the testing functions (stdlib only)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence

_WORD = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)


def normalize(text: str) -> str:
    """Unicode-compatible, case-folded text with punctuation dropped and whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Punctuation becomes a space, not nothing, so "end.Start" stays two words.
    no_punct = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in folded)
    return _SPACE.sub(" ", no_punct).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text."""
    return _WORD.findall(normalize(text))


def _match_masks(a: Sequence[Hashable]) -> dict[Hashable, int]:
    """For each symbol of a, the bit set of its positions (bit i set when a[i] is the symbol)."""
    masks: dict[Hashable, int] = {}
    for position, symbol in enumerate(a):
        masks[symbol] = masks.get(symbol, 0) | (1 << position)
    return masks


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Length of the longest common subsequence.

    Bit-parallel (Allison and Dix, 1986): one big-integer step per item of b instead of a
    len(a)·len(b) table, so long texts need no truncation.
    """
    if not a or not b:
        return 0
    masks = _match_masks(a)
    full = (1 << len(a)) - 1
    row = full  # a zero bit marks a position where the common subsequence grew
    for symbol in b:
        matched = row & masks.get(symbol, 0)
        row = ((row + matched) | (row - matched)) & full
    return len(a) - row.bit_count()


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance between two strings or token lists (every edit costs 1).

    Bit-parallel (Myers 1999, in Hyyrö's formulation for global distance): the column of
    vertical deltas is kept as two bit sets, one big-integer step per item of b.
    """
    if not a:
        return len(b)
    masks = _match_masks(a)
    full = (1 << len(a)) - 1
    last = 1 << (len(a) - 1)
    plus, minus, distance = full, 0, len(a)
    for symbol in b:
        equal = masks.get(symbol, 0)
        vertical = equal | minus
        horizontal = (((equal & plus) + plus) ^ plus) | equal
        h_plus = minus | (~(horizontal | plus) & full)
        h_minus = plus & horizontal
        if h_plus & last:
            distance += 1
        elif h_minus & last:
            distance -= 1
        # The top row of the table counts up (D[0][j] = j), hence the carried-in 1.
        h_plus = ((h_plus << 1) | 1) & full
        h_minus = (h_minus << 1) & full
        plus = h_minus | (~(vertical | h_plus) & full)
        minus = h_plus & vertical
    return distance


def clamp(value: float) -> float:
    """The value limited to [0, 1]; NaN counts as 0."""
    if value != value:  # NaN is the only float unequal to itself
        return 0.0
    return max(0.0, min(1.0, float(value)))
