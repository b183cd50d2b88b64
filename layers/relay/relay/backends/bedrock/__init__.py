"""Amazon Bedrock adapters."""
