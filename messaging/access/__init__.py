"""Access to the REST API: API key authentication, IP allowlists, rate limits, idempotency,
and the guard that applies them (with config.api's validation) around every endpoint view.

Beside the API keys it checks (messaging.models.keys, messaging.services.api_keys). Only
config/urls.py wires the guard in; no app imports it to serve its endpoints.
"""
