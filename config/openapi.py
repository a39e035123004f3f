"""The OpenAPI 3.1 document, generated from the registry of config.api."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from pydantic.json_schema import models_json_schema

from config.api import REGISTRY

ERROR_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {}},
    },
}


def openapi_document() -> dict[str, Any]:
    models = []
    for endpoint in REGISTRY.values():
        for model, mode in ((endpoint.body, "validation"), (endpoint.response, "serialization")):
            if model is not None:
                models.append((model, mode))
    keyed, schema = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components = dict(schema.get("$defs", {}))
    components["Error"] = ERROR_SCHEMA

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in sorted(REGISTRY.values(), key=lambda e: (e.path, e.method)):
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "description": endpoint.description,
            "tags": list(endpoint.tags),
            "responses": {
                str(endpoint.success_status): {
                    "description": "Success",
                    "content": {"application/json": {"schema": (
                        keyed[(endpoint.response, "serialization")]
                        if endpoint.response else {"type": "object"}
                    )}},
                },
                "default": {
                    "description": "Error (Braze's envelope)",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}},
                },
            },
        }
        if endpoint.permission:
            operation["security"] = [{"bearerAuth": []}]
            operation["x-permission"] = endpoint.permission
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {
                    "schema": keyed[(endpoint.body, "validation")]}},
            }
        if endpoint.query is not None:
            query_schema = endpoint.query.model_json_schema()
            required = set(query_schema.get("required", []))
            operation["parameters"] = [
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": {k: v for k, v in prop.items() if k != "title"},
                }
                for name, prop in query_schema.get("properties", {}).items()
            ]
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald REST API",
            "version": "1.0.0",
            "description": "Braze-compatible REST API for API campaigns.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
