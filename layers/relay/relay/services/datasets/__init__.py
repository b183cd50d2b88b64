"""Datasets: records and states, storage, uploads (direct and presigned), verification, serving."""
