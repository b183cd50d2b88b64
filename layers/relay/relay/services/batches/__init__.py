"""OpenAI's Batch API: validated up front, fanned out through the request queue, finalized into files."""
