"""Thin adapters around boto3 clients; AWS error codes become domain errors here, once."""
