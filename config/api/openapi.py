"""The OpenAPI 3.1 document, generated from the endpoint registry.

The dashboard's API reference page reads the same document (config.api.reference), so the
schemas that validate requests are the only description of them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.http import HttpRequest, JsonResponse
from pydantic.json_schema import models_json_schema

from .registry import REGISTRY, Endpoint

ERROR_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string", "description": "the error text"},
        "errors": {"type": "array", "items": {},
                   "description": "details, usually naming the field in error"},
    },
}
RATE_HEADERS = {
    "X-RateLimit-Limit": "requests allowed in the current window",
    "X-RateLimit-Remaining": "requests left in the window",
    "X-RateLimit-Reset": "when the window resets, UTC epoch seconds",
}
# Example error bodies (spec §2.4); 400 texts vary by endpoint and name the field.
ERROR_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("Invalid request: nothing was written",
            {"message": "Bad Request", "errors": ["field: what is wrong"]}),
    "401": ("Missing, unknown or revoked API key (named by its public prefix only), a key "
            "in the query string (send it in the Authorization: Bearer header), or a client "
            "IP outside the key's allowlist",
            {"message": "Invalid API key: hrld_AbCdEfG…"}),
    "403": ("The key lacks this endpoint's permission",
            {"message": "Access Denied",
             "errors": ["this API key lacks the users.track permission"]}),
    "413": ("Request body larger than the server's cap (API_MAX_BODY_BYTES)",
            {"message": "Request body too large", "errors": ["body: at most 1048576 bytes"]}),
    "429": ("Over the rate limit; retry after Retry-After seconds", {"message": "Rate Limited"}),
}


# What an `idempotent=True` endpoint adds (messaging.access.idempotency).
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Beyond Braze: a retry with the same key and body within 24 hours gets "
                   "the first answer again (Idempotent-Replayed: true)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}
IDEMPOTENCY_ANSWERS: dict[int, tuple[str, dict[str, Any]]] = {
    409: ("A request with this Idempotency-Key is still in progress",
          {"message": "A request with this Idempotency-Key is in progress"}),
    422: ("This Idempotency-Key was used with another request body",
          {"message": "Idempotency-Key reused with a different request body"}),
}


def _headers_object() -> dict[str, Any]:
    return {name: {"description": text, "schema": {"type": "string"}}
            for name, text in RATE_HEADERS.items()}


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    if endpoint.query is None:
        return []
    query_schema = endpoint.query.model_json_schema()
    required = set(query_schema.get("required", []))
    parameters = []
    for name, prop in query_schema.get("properties", {}).items():
        schema = {k: v for k, v in prop.items() if k not in ("title", "description")}
        parameter = {"name": name, "in": "query", "required": name in required,
                     "schema": schema}
        if prop.get("description"):
            parameter["description"] = prop["description"]
        parameters.append(parameter)
    return parameters


def _error_answers(endpoint: Endpoint) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every error status the endpoint can answer: the guard's, then its own, by status."""
    answers: dict[str, tuple[str, dict[str, Any]]] = {}
    for status, (text, example) in ERROR_EXAMPLES.items():
        if endpoint.permission is None and status in ("401", "403"):
            continue
        if endpoint.method != "POST" and status == "413":  # only a POST has a body
            continue
        answers[status] = (text, example)
    if endpoint.idempotent:
        answers.update({str(s): answer for s, answer in IDEMPOTENCY_ANSWERS.items()})
    for status, answer in endpoint.answers.items():
        answers[str(status)] = answer
    return dict(sorted(answers.items()))


def _operation(endpoint: Endpoint, keyed: dict[Any, Any]) -> dict[str, Any]:
    success_schema = (keyed[(endpoint.response, "serialization")] if endpoint.response
                      else {"$ref": "#/components/schemas/Success"})
    responses: dict[str, Any] = {
        str(endpoint.success_status): {
            "description": "Success",
            "headers": _headers_object(),
            "content": {"application/json": {"schema": success_schema}},
        },
    }
    for status, (text, example) in _error_answers(endpoint).items():
        headers = _headers_object()
        if status == "429":
            headers["Retry-After"] = {"description": "seconds until the window resets",
                                      "schema": {"type": "string"}}
        responses[status] = {
            "description": text,
            "headers": headers,
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}, "example": example}},
        }
    operation: dict[str, Any] = {
        "operationId": (endpoint.method.lower() + endpoint.path.replace("/", "_")),
        "summary": endpoint.summary,
        "description": endpoint.description,
        "tags": list(endpoint.tags) or [endpoint.path.strip("/").split("/")[0].title()],
        "responses": responses,
        "x-rate-limit": endpoint.rate_limit,
    }
    if endpoint.permission:
        operation["security"] = [{"bearerAuth": []}]
        operation["x-permission"] = endpoint.permission
    else:
        operation["security"] = []
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": keyed[(endpoint.body, "validation")]}},
        }
    parameters = _parameters(endpoint)
    if endpoint.idempotent:
        parameters.append(IDEMPOTENCY_PARAMETER)
    if parameters:
        operation["parameters"] = parameters
    return operation


@lru_cache(maxsize=1)
def _document(registry_size: int) -> dict[str, Any]:
    models = []
    for endpoint in REGISTRY.values():
        for model, mode in ((endpoint.body, "validation"), (endpoint.response, "serialization")):
            if model is not None and (model, mode) not in models:
                models.append((model, mode))
    keyed, schema = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components = dict(schema.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA
    components["Success"] = {"type": "object", "required": ["message"],
                             "properties": {"message": {"type": "string", "const": "success"}}}

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in sorted(REGISTRY.values(), key=lambda e: (e.path, e.method)):
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, keyed)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald REST API",
            "version": "1.0.0",
            "description": (
                "Braze-compatible REST API for API campaigns. Paths, fields, limits and "
                "error bodies follow Braze's; point a Braze client at this server's base "
                "URL and use a Herald key as `Authorization: Bearer KEY`."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "a Herald REST API key"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    # Endpoints register at import time; the size keys the cache in case more arrive.
    return _document(len(REGISTRY))


def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
