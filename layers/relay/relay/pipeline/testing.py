"""Testing and registration: score each checkpoint's test-split predictions, then record the checkpoints.

The training job writes `predictions.jsonl` ({input, expected, predicted} per test row) into every
checkpoint it saves; those folders reach S3 through the job's CheckpointConfig. Scoring is pure
Python (`relay.evaluation`), so it runs here rather than on the GPU instance.
"""

from __future__ import annotations

import json
import re
from statistics import fmean
from typing import Any

from relay.errors import ConflictError
from relay.evaluation import get as testing_function
from relay.pipeline.context import PREDICTIONS_FILE, Pipeline, PipelineStepError
from relay.services.training import status as st
from relay.services.training.models import Checkpoint, CheckpointTestResults

CHECKPOINT_METADATA = "relay_checkpoint.json"  # written by training/relay_training/checkpoints.py
_CHECKPOINT = re.compile(r"checkpoint-(\d+)/")


def checkpoint_numbers(keys: list[str], prefix: str) -> list[int]:
    """Steps of the checkpoint folders under prefix that hold their metadata file (i.e. are complete)."""
    found = set()
    for key in keys:
        match = _CHECKPOINT.match(key[len(prefix) :])
        if match and key.endswith("/" + CHECKPOINT_METADATA):
            found.add(int(match.group(1)))
    return sorted(found)


def score_rows(
    rows: list[dict[str, Any]], functions: list[str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Per-row scores and, per testing function, the mean over the rows as a string (the spec's type)."""
    scored = []
    for row in rows:
        inputs = (str(row.get("input", "")), str(row.get("expected", "")), str(row.get("predicted", "")))
        scores = {name: round(float(testing_function(name)(*inputs)), 6) for name in functions}
        scored.append({**row, "scores": scores})
    aggregated = (
        {name: f"{fmean(r['scores'][name] for r in scored):.4f}" for name in functions} if scored else {}
    )
    return scored, aggregated


def test(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    job = pipeline.job(event)
    paths = pipeline.paths(event)
    try:
        if job.status == st.PENDING:  # the job finished between two polls
            pipeline.jobs.transition(job.project_id, job.id, st.RUNNING, pipeline.now())
        pipeline.jobs.transition(job.project_id, job.id, st.TESTING, pipeline.now(), progress=100)
    except ConflictError as exc:
        raise PipelineStepError(f"training job {job.id} changed status: {exc.message}") from exc
    keys = pipeline.keys(paths.checkpoints_key)
    numbers = checkpoint_numbers(keys, paths.checkpoints_key)
    if not numbers:
        raise PipelineStepError("the training job saved no checkpoints")
    functions = list(job.test_functions)
    results = []
    for number in numbers:
        folder = f"checkpoint-{number}/"
        metadata = json.loads(pipeline.read(paths.checkpoints_key + folder + CHECKPOINT_METADATA))
        entry: dict[str, Any] = {
            "checkpoint": number,
            "model_download_url": paths.checkpoints_uri + folder,
            "created_at": int(metadata.get("created_at") or pipeline.now()),
            "general_test_result": None,
            "aggregated_test_result": {},
        }
        predictions_key = paths.checkpoints_key + folder + PREDICTIONS_FILE
        if predictions_key in keys:
            rows = [
                json.loads(line)
                for line in pipeline.read(predictions_key).decode().splitlines()
                if line.strip()
            ]
            scored, aggregated = score_rows(rows, functions)
            result_key = paths.key("test-results", f"checkpoint-{number}.jsonl")
            pipeline.write(result_key, "".join(json.dumps(r) + "\n" for r in scored).encode())
            entry["general_test_result"] = f"s3://{pipeline.settings.bucket_name}/{result_key}"
            entry["aggregated_test_result"] = aggregated
        results.append(entry)
    return {"checkpoints": results}


def register(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    """Record every tested checkpoint, then the job's Success."""
    job = pipeline.job(event)
    now = pipeline.now()
    for entry in event.get("checkpoints") or []:
        pipeline.jobs.put_checkpoint(
            job.project_id,
            job.id,
            Checkpoint(
                checkpoint=int(entry["checkpoint"]),
                model_download_url=str(entry["model_download_url"]),
                test_results=CheckpointTestResults(
                    general_test_result=entry.get("general_test_result"),
                    aggregated_test_result=dict(entry.get("aggregated_test_result") or {}),
                ),
                created_at=int(entry["created_at"]),
                updated_at=now,
            ),
        )
    try:
        pipeline.jobs.transition(job.project_id, job.id, st.SUCCESS, now)
    except ConflictError as exc:
        raise PipelineStepError(f"training job {job.id} changed status: {exc.message}") from exc
    return {"status": st.SUCCESS, "checkpoints": len(event.get("checkpoints") or [])}
