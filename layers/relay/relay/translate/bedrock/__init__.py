"""Pure translators for Bedrock: Converse, InvokeModel bodies, Rerank. No boto3."""
