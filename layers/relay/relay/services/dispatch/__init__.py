"""One batch line through the services the HTTP routes use, for every non-HTTP entry point."""
