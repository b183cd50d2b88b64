"""OpenAI's Files API: files in S3, recorded in DynamoDB once S3 holds them, one owner each."""
