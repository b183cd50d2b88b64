"""Training jobs: records, the transition table, storage, request resolution and the service."""
