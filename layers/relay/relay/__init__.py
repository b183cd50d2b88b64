"""Relay: an OpenAI-compatible gateway for Amazon Bedrock and Amazon SageMaker."""

__version__ = "0.1.0"
