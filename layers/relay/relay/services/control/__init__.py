"""Control-plane services: projects and datasets (storage ports, adapters, validation, logic)."""
