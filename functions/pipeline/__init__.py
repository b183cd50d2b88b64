"""Pipeline worker Lambda (the training state machine's task steps)."""
