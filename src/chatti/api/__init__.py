"""The HTTP API: JSON in and out, API keys, accounts, OpenAPI at /docs."""
