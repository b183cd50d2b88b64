"""The model registry: `name/tag` model ids mapped to SageMaker endpoints and container flavours."""
