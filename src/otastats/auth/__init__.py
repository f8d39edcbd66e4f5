"""API keys, authentication, permissions and rate limits."""
