"""Training jobs: the API's service, its DynamoDB repository, and the transition rules."""
