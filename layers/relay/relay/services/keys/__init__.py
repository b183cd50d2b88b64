"""API keys (stored hashed) and the authenticator that checks presented keys."""
