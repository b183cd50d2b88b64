"""`relay`: the command-line tool for a Relay deployment (outside the Lambda layer)."""

__version__ = "0.1.0"
