"""Dataset rows for the pipeline: read, split into train/test, downsample, rebalance, write as JSONL.

Pure functions plus two S3 helpers; the split is seeded by the job id, so a retried step writes
the same files.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from typing import Any

Row = dict[str, Any]
LABEL_KEY = "label"


class DataPreparationError(ValueError):
    """The datasets cannot be prepared as asked; the message names the dataset and the problem."""


def parse_rows(content: bytes, filename: str) -> list[Row]:
    """Rows of a JSONL (or JSON array) or CSV dataset file."""
    text = content.decode("utf-8-sig")
    if filename.lower().endswith(".csv"):
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    stripped = text.lstrip()
    if stripped.startswith("["):
        rows = json.loads(stripped)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not all(isinstance(row, dict) for row in rows):
        raise DataPreparationError(f"{filename}: every row must be a JSON object")
    return rows


def to_jsonl(rows: list[Row]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def split(rows: list[Row], percent: float, seed: str) -> tuple[list[Row], list[Row]]:
    """Hold out `percent` % of rows (at least one) for testing; both parts keep at least one row."""
    if len(rows) < 2:
        raise DataPreparationError("the training dataset needs at least 2 rows to split off a test set")
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    size = min(len(rows) - 1, max(1, round(len(rows) * percent / 100)))
    return shuffled[size:], shuffled[:size]


def downsample(rows: list[Row], size: int, seed: str) -> list[Row]:
    """At most `size` rows drawn without replacement (0 keeps every row)."""
    if size <= 0 or size >= len(rows):
        return list(rows)
    return random.Random(seed).sample(rows, size)


def rebalance(rows: list[Row], spec: dict[str, float], seed: str) -> list[Row]:
    """Resample classification rows by label, as the spec's `rebalance_data` describes.

    Values that are all at most 1 are ratios: the labels named share the rows they had, in those
    proportions. Otherwise values are row counts. Rows are drawn without replacement while enough
    exist, with replacement beyond; labels not named keep their rows.
    """
    by_label: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_label[str(row.get(LABEL_KEY))].append(row)
    unknown = sorted(set(spec) - set(by_label))
    if unknown:
        raise DataPreparationError(f"rebalance_data names labels the dataset does not have: {unknown}")
    if all(value <= 1 for value in spec.values()):
        total = sum(len(by_label[label]) for label in spec)
        scale = sum(spec.values()) or 1.0
        targets = {label: round(total * value / scale) for label, value in spec.items()}
    else:
        targets = {label: round(value) for label, value in spec.items()}
    generator = random.Random(seed)
    result = [row for row in rows if str(row.get(LABEL_KEY)) not in targets]
    for label, target in targets.items():
        pool = by_label[label]
        chosen = generator.sample(pool, min(target, len(pool)))
        chosen += generator.choices(pool, k=max(0, target - len(pool)))
        result.extend(chosen)
    generator.shuffle(result)
    return result


def prepare(
    train_rows: list[Row],
    test_rows: list[Row] | None,
    hyper_parameters: dict[str, Any],
    seed: str,
) -> tuple[list[Row], list[Row]]:
    """The train and test rows the SageMaker job gets (test may be empty: no testing)."""
    test: list[Row] = list(test_rows or [])
    train = list(train_rows)
    ratio = hyper_parameters.get("train_test_split_ratio")
    if test_rows is None and ratio:
        train, test = split(train, float(ratio), seed)
    train = downsample(train, int(hyper_parameters.get("downsample_size") or 0), seed)
    if hyper_parameters.get("rebalance_data"):
        train = rebalance(train, dict(hyper_parameters["rebalance_data"]), seed)
    if not train:
        raise DataPreparationError("no training rows are left after splitting, downsampling and rebalancing")
    return train, test
