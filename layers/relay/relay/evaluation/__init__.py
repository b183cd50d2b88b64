"""Built-in testing functions: `(input_text, expected_output, predicted_output) -> score in [0, 1]`.

Pure standard library, because the package ships in the Lambda layer and is also imported by the
training code on the GPU instance (as GRPO rewards).
"""

from relay.evaluation.registry import TESTING_FUNCTIONS, TestingFunction, describe, get, score

__all__ = ["TESTING_FUNCTIONS", "TestingFunction", "describe", "get", "score"]
