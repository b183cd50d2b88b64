"""GRPO rewards from the built-in testing functions: reward = Σ weight · fn(input, expected, completion).

Standard library plus `relay.evaluation`; the weights are applied by TRL (`reward_weights`), which
also logs each function's mean reward separately.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from relay.evaluation import get

RewardFunction = Callable[..., list[float]]


def completion_text(completion: Any) -> str:
    """The generated text, whether TRL passes a string or a list of chat messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(
            str(message.get("content") or "") for message in completion if isinstance(message, dict)
        )
    return str(completion)


def reward_function(name: str) -> RewardFunction:
    """A TRL reward function scoring completions with the named testing function."""
    score = get(name)

    def reward(
        prompts: list[Any],
        completions: list[Any],
        expected_output: list[str],
        input_text: list[str],
        **_: Any,
    ) -> list[float]:
        return [
            score(question, expected, completion_text(completion))
            for question, expected, completion in zip(input_text, expected_output, completions, strict=True)
        ]

    # TRL names the per-function metrics (`rewards/<name>/mean`) after __name__.
    reward.__name__ = name
    reward.__qualname__ = name
    return reward


def reward_functions(weights: Mapping[str, float]) -> tuple[list[RewardFunction], list[float]]:
    """Reward functions and their weights, in the same (sorted by name) order."""
    names = sorted(weights)
    return [reward_function(name) for name in names], [float(weights[name]) for name in names]


def weighted_reward(weights: Mapping[str, float], input_text: str, expected: str, predicted: str) -> float:
    """The reward one completion earns: Σ weight · testing function score."""
    return sum(weight * get(name)(input_text, expected, predicted) for name, weight in weights.items())
