"""Engines and deployments: SageMaker endpoints and inference components that serve trained checkpoints."""
