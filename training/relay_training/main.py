"""Read the job's settings, run the task, and report failures where SageMaker shows them."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from relay_training.config import (
    DEFAULT_HYPERPARAMETERS,
    ENV_HYPERPARAMETERS,
    ConfigError,
    JobConfig,
    Paths,
    load_hyperparameters,
    parse_config,
)
from relay_training.data import DataError
from relay_training.evaluation import apply_adapter_channel, write_predictions
from relay_training.metrics import MetricSink

logger = logging.getLogger("relay_training")

# Base models come from a local directory staged by the pipeline; nothing may reach a model hub.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
FAILURE_FILE = "failure"  # SageMaker copies its first 1,024 bytes into the job's FailureReason
EXIT_BAD_INPUT = 2

Runner = Callable[[JobConfig, Paths, MetricSink], dict[str, Any]]


def configure_offline() -> None:
    os.environ.update(OFFLINE_ENVIRONMENT)


def runner_for(config: JobConfig) -> Runner:
    """The task's run function, imported only now so a bad config fails before torch loads."""
    if config.task_type == "text-generation":
        if config.technique == "GRPO":
            from relay_training import grpo

            return grpo.run
        from relay_training import sft

        return sft.run
    if config.task_type == "embedding":
        from relay_training import embedding

        return embedding.run
    from relay_training import classification

    return classification.run


def write_failure(output_dir: Path, message: str) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / FAILURE_FILE).write_text(message[:1024], encoding="utf-8")
    except OSError:
        logger.exception("could not write the failure reason to %s", output_dir)


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the job described by the environment; 0 on success, 2 for unusable input."""
    configure_offline()
    environment = os.environ if env is None else env
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    paths = Paths.from_env(environment)
    try:
        hyperparameters = load_hyperparameters(
            Path(environment.get(ENV_HYPERPARAMETERS, DEFAULT_HYPERPARAMETERS))
        )
        config = parse_config(hyperparameters, paths)
        config = apply_adapter_channel(config, environment)
        logger.info("task %s/%s on %s", config.task_type, config.technique, config.base_model_path)
        runner = runner_for(config)
        runner(config, paths, MetricSink(paths.output_data_dir))
        write_predictions(config, paths)
    except (ConfigError, DataError) as exc:
        logger.error("cannot train: %s", exc)
        write_failure(paths.output_dir, f"{type(exc).__name__}: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:
        # The entry point is the one place that sees every failure: record it for DescribeTrainingJob,
        # then let it propagate so the traceback reaches the log and the exit status is non-zero.
        write_failure(paths.output_dir, f"{type(exc).__name__}: {exc}")
        raise
    return 0
