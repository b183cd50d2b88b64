"""Pure translators between OpenAI shapes and each SageMaker container flavour."""
