"""The REST API's plumbing, shared by every app; it knows no models and imports no app.

- registry: `@endpoint(...)`, the endpoint registry, and the views' calling convention
- envelope: Braze's answer shapes (`ApiError`, `api_response`)
- body: reading a JSON body (size cap as a 413, depth, parsing; no NaN or unholdable number)
- validation: the one error formatter and the one text check (NUL, lone surrogates)
- inputs: an endpoint's input, validated once before its view (called by the guard)
- domain_errors: `DomainError` and the table that answers domain errors in Braze's words
- openapi, reference: the OpenAPI document and the dashboard's reading of it
- times: the one reader of request times (ISO 8601, offsets within ±18:00) and the
  writer of answer times

The guard that applies all this (API key, rate limits, idempotency) is messaging.access,
wired in by config/urls.py.
"""

from .domain_errors import Answer, DomainError, api_error
from .envelope import ApiError, api_response
from .registry import REGISTRY, Endpoint, endpoint
from .validation import ErrorStyle

__all__ = [
    "REGISTRY",
    "Answer",
    "ApiError",
    "DomainError",
    "Endpoint",
    "ErrorStyle",
    "api_error",
    "api_response",
    "endpoint",
]
