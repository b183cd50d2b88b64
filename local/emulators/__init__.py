"""Wire-level emulators of AWS services that moto does not serve (Bedrock, SageMaker runtime)."""
