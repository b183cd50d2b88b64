"""Stored responses (`/v1/responses`): the record, its storage port and DynamoDB adapter, and the service."""
