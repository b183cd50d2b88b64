"""SageMaker runtime adapters: InvokeEndpoint and InvokeEndpointWithResponseStream."""
