"""Services: auth, model registry, control-plane logic. No HTTP here."""
