"""Tests of messaging.access: API keys, authentication, allowlists, rate limits, the guard."""
