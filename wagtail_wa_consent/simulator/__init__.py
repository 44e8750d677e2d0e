"""A local stand-in for Meta's WhatsApp Cloud API, for the sandbox and tests. Never for production."""
