"""Projects: the records, their storage port and DynamoDB adapter, and the service."""
