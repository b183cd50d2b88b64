"""The CLI's one error type: `relay` prints its message and exits with its code, no traceback.

Typer vendors its own click, so click's exception classes are not the ones Typer catches;
`main.run` catches this one instead.
"""

from __future__ import annotations


class CliError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message
