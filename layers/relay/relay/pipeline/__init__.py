"""The training pipeline's task steps (invoked by the Step Functions state machine through the
Pipeline worker Lambda): validate, prepare data, poll the SageMaker job, test, register, finish."""
