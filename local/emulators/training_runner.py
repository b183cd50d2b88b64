"""One emulated SageMaker training job: download channels, run `training/train.py`, upload results.

The container's stdout goes to CloudWatch Logs (`/aws/sagemaker/TrainingJobs`, stream
`<job>/algo-1-<epoch>`) on the local stack, where the pipeline's poll step reads the metric
lines exactly as it does on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local import base_models, training_env

REPO = Path(__file__).resolve().parents[2]
TRAIN_SCRIPT = REPO / "training" / "train.py"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# SageMaker allows 120 s after SIGTERM; the local stack needs less to save a tiny model.
STOP_GRACE_SECONDS = 20


def _split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass
class TrainingJob:
    name: str
    request: dict[str, Any]
    created: float = field(default_factory=time.time)
    status: str = "InProgress"
    secondary: str = "Starting"
    failure_reason: str | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    stop_reason: str | None = None  # "Stopped" or "MaxRuntimeExceeded"
    process: subprocess.Popen[bytes] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def move(self, secondary: str, status: str | None = None, message: str = "") -> None:
        with self.lock:
            now = time.time()
            if self.transitions:
                self.transitions[-1]["EndTime"] = now
            self.transitions.append(
                {"Status": secondary, "StartTime": now, "StatusMessage": message or secondary}
            )
            self.secondary = secondary
            if status:
                self.status = status
            if status in ("Completed", "Failed", "Stopped"):
                self.ended = now


class JobRunner:
    """Runs one job on a background thread; `stop` is StopTrainingJob."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.s3 = boto3.client("s3")
        self.logs = boto3.client("logs")
        self.root = Path(tempfile.mkdtemp(prefix=f"relay-{job.name}-"))
        self.stream = f"{job.name}/algo-1-{int(job.created)}"
        self._stream_ready = False

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"training-{self.job.name}", daemon=True).start()

    def stop(self, reason: str = "Stopped") -> None:
        job = self.job
        if job.status != "InProgress":
            return
        job.stop_reason = job.stop_reason or reason
        job.move("Stopping", "Stopping")
        process = job.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    # ---------------------------------------------------------------- the job

    def _run(self) -> None:
        job = self.job
        try:
            self._log(
                f"Relay local training emulator: job {job.name} on {job.request['ResourceConfig']['InstanceType']}"
            )
            if not training_env.ready():
                job.move("Starting", message=training_env.BUILD_MESSAGE)
                self._log(training_env.BUILD_MESSAGE)
            problem = base_models.wait_ready()
            if problem:
                self._log(f"warning: {problem}")
            job.move("Downloading", message="Downloading input data")
            env = self._download()
            if job.stop_reason:
                return self._finish_stopped()
            job.started = time.time()
            job.move("Training", message="Training image download completed. Training in progress.")
            code = self._train(env)
            job.move("Uploading", message="Uploading generated training model")
            self._upload()
            if job.stop_reason:
                return self._finish_stopped()
            if code == 0:
                job.move("Completed", "Completed", "Training job completed")
            else:
                failure = self.root / "output" / "failure"
                reason = failure.read_text(encoding="utf-8") if failure.is_file() else ""
                job.failure_reason = (
                    f"AlgorithmError: {reason or 'the training script exited with status ' + str(code)}"
                )
                job.move("Failed", "Failed", job.failure_reason)
        except Exception as exc:  # the emulator must end the job, never leave it InProgress
            job.failure_reason = f"InternalServerError: {exc!r}"
            job.move("Failed", "Failed", job.failure_reason)

    def _finish_stopped(self) -> None:
        reason = self.job.stop_reason or "Stopped"
        self.job.move(
            reason, "Stopped", "Training job stopped" if reason == "Stopped" else "Max runtime exceeded"
        )

    def _download(self) -> dict[str, str]:
        env = dict(os.environ)
        for channel in self.job.request.get("InputDataConfig", []):
            name = channel["ChannelName"]
            bucket, prefix = _split_uri(channel["DataSource"]["S3DataSource"]["S3Uri"])
            target = self.root / "input" / "data" / name
            target.mkdir(parents=True, exist_ok=True)
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    relative = obj["Key"][len(prefix) :].lstrip("/")
                    if relative:
                        (target / relative).parent.mkdir(parents=True, exist_ok=True)
                        self.s3.download_file(bucket, obj["Key"], str(target / relative))
            env[f"SM_CHANNEL_{name.upper()}"] = str(target)
        config = self.root / "input" / "config" / "hyperparameters.json"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(self.job.request.get("HyperParameters", {})), encoding="utf-8")
        env.update(
            SM_MODEL_DIR=str(self.root / "model"),
            SM_OUTPUT_DATA_DIR=str(self.root / "output" / "data"),
            SM_OUTPUT_DIR=str(self.root / "output"),
            RELAY_CHECKPOINT_DIR=str(self.root / "checkpoints"),
            RELAY_HYPERPARAMETERS_FILE=str(config),
            PYTHONUNBUFFERED="1",
        )
        # The training environment is separate from the app's: no AWS endpoints or credentials leak in.
        for key in [k for k in env if k.startswith(("AWS_", "RELAY_TABLE", "RELAY_BUCKET"))]:
            env.pop(key)
        return env

    def _train(self, env: dict[str, str]) -> int:
        limit = float(self.job.request["StoppingCondition"]["MaxRuntimeInSeconds"])
        python = base_models.training_python()
        process = subprocess.Popen(
            [python, str(TRAIN_SCRIPT)],
            env=env,
            cwd=str(self.root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.job.process = process
        assert process.stdout is not None
        reader = threading.Thread(target=self._pump, args=(process.stdout,), daemon=True)
        reader.start()
        deadline = time.time() + limit
        while process.poll() is None:
            if time.time() > deadline and not self.job.stop_reason:
                self.stop("MaxRuntimeExceeded")
            if self.job.stop_reason:
                try:
                    process.wait(timeout=STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
            time.sleep(0.2)
        reader.join(timeout=10)
        return int(process.returncode)

    def _pump(self, stream: Any) -> None:
        batch: list[str] = []
        last = time.time()
        for raw in iter(stream.readline, b""):
            batch.append(raw.decode("utf-8", "replace").rstrip("\n"))
            if time.time() - last > 0.5 or len(batch) >= 200:
                self._log(*batch)
                batch, last = [], time.time()
        if batch:
            self._log(*batch)

    def _log(self, *lines: str) -> None:
        if not self._stream_ready:
            with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
                self.logs.create_log_group(logGroupName=LOG_GROUP)
            with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
                self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=self.stream)
            self._stream_ready = True
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines if line]
        if events:
            self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=self.stream, logEvents=events)

    def _upload(self) -> None:
        checkpoint = self.job.request.get("CheckpointConfig")
        if checkpoint:
            bucket, prefix = _split_uri(checkpoint["S3Uri"])
            local = self.root / "checkpoints"
            for path in sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else []:
                self.s3.upload_file(
                    str(path), bucket, prefix.rstrip("/") + "/" + path.relative_to(local).as_posix()
                )
        model = self.root / "model"
        if model.is_dir() and any(model.iterdir()):
            bucket, prefix = _split_uri(self.job.request["OutputDataConfig"]["S3OutputPath"])
            archive = self.root / "model.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(model, arcname=".")
            key = f"{prefix.rstrip('/')}/{self.job.name}/output/model.tar.gz"
            self.s3.upload_file(str(archive), bucket, key)
            self.job.request["ModelArtifacts"] = {"S3ModelArtifacts": f"s3://{bucket}/{key}"}
