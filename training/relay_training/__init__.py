"""Relay's training code for SageMaker training jobs: SFT, GRPO, classification, regression, embedding."""

__version__ = "0.1.0"
