"""Pydantic models of the wire formats. No IO."""
