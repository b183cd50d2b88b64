"""The requests events Lambda function (its handler is handler.py; the package marker keeps mypy's module names unique)."""
