"""`python -m relay_cli`, the same as the `relay` console script."""

from relay_cli.main import run

run()
