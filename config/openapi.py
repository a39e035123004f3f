"""The OpenAPI 3.1 document, generated from the registry of config.api.

The dashboard's API reference page reads the same document (`api_reference()`), so the
schemas that validate requests are the only description of them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.http import HttpRequest, JsonResponse
from pydantic.json_schema import models_json_schema

from config.api import REGISTRY, Endpoint

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
    "401": ("Missing, unknown or revoked API key, or a client IP outside the key's allowlist",
            {"message": "Invalid API key: hrld_not-a-key"}),
    "403": ("The key lacks this endpoint's permission",
            {"message": "Access Denied",
             "errors": ["this API key lacks the users.track permission"]}),
    "429": ("Over the rate limit; retry after Retry-After seconds", {"message": "Rate Limited"}),
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
    for status, (text, example) in ERROR_EXAMPLES.items():
        if endpoint.permission is None and status in ("401", "403"):
            continue
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


# --- the dashboard's reading of the document -------------------------------------------------


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def display_name(component: str) -> str:
    # pydantic qualifies clashing model names with their module (a__b__Model).
    return component.rsplit("__", 1)[-1]


def type_label(schema: dict[str, Any]) -> str:
    """A short human type: `string`, `int`, `TrackEvent[]`, `"a" | "b"`, `string | null`."""
    if "$ref" in schema:
        return display_name(schema["$ref"].rsplit("/", 1)[-1])
    if "const" in schema:
        return repr(schema["const"]).replace("'", '"')
    if "enum" in schema:
        return " | ".join(repr(v).replace("'", '"') for v in schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(type_label(option) for option in schema[combinator])
    kind = schema.get("type")
    if kind == "array":
        return type_label(schema.get("items", {})) + "[]"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "string" and schema.get("format") in ("date", "date-time"):
        return schema["format"]
    if kind == "object" or kind is None:
        return "object" if kind else "any"
    return str(kind)


def _rules(schema: dict[str, Any]) -> str:
    parts = []
    for option in [schema, *schema.get("anyOf", [])]:
        for key, label in (("maxItems", "≤ {} items"), ("minItems", "≥ {} items"),
                           ("maxLength", "≤ {} chars"), ("minimum", "≥ {}"),
                           ("maximum", "≤ {}"), ("pattern", "pattern {}")):
            # The no-NUL pattern on every string is a storage rule, not one readers need.
            if key in option and not (key == "pattern" and option[key] == r"^[^\x00]*$"):
                parts.append(label.format(option[key]))
    return ", ".join(dict.fromkeys(parts))


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, components)
    required = set(schema.get("required", []))
    return [
        {"name": name, "type": type_label(prop), "required": name in required,
         "description": prop.get("description", ""), "rules": _rules(prop),
         "default": prop.get("default")}
        for name, prop in schema.get("properties", {}).items()
    ]


def _referenced(schema: Any, components: dict[str, Any], seen: list[str]) -> list[str]:
    """Names of component schemas reachable from `schema`, in first-seen order."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.append(name)
                _referenced(components.get(name, {}), components, seen)
        for value in schema.values():
            _referenced(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            _referenced(value, components, seen)
    return seen


def api_reference() -> list[dict[str, Any]]:
    """The document as sections for the API reference page, one per operation."""
    document = openapi_document()
    components = document["components"]["schemas"]
    sections = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body_schema = (operation.get("requestBody", {}).get("content", {})
                           .get("application/json", {}).get("schema"))
            success_status = next(iter(operation["responses"]))
            success_schema = operation["responses"][success_status]["content"][
                "application/json"]["schema"]
            objects = []
            if body_schema:
                top = body_schema["$ref"].rsplit("/", 1)[-1] if "$ref" in body_schema else None
                for name in _referenced(body_schema, components, []):
                    if name != top:
                        target = components[name]
                        objects.append({"name": display_name(name),
                                        "description": target.get("description", ""),
                                        "fields": _fields(target, components),
                                        "extra": target.get("additionalProperties") is True})
            body = _resolve(body_schema, components) if body_schema else None
            sections.append({
                "id": f"{method}-{path.strip('/').replace('/', '-')}",
                "path": path,
                "method": method.upper(),
                "summary": operation["summary"],
                "description": operation["description"],
                "permission": operation.get("x-permission"),
                "rate_limit": operation.get("x-rate-limit"),
                "tag": operation["tags"][0] if operation["tags"] else "",
                "parameters": [
                    {"name": p["name"], "type": type_label(p["schema"]), "required": p["required"],
                     "description": p.get("description", ""), "rules": _rules(p["schema"]),
                     "default": p["schema"].get("default")}
                    for p in operation.get("parameters", [])
                ],
                "body_fields": _fields(body_schema, components) if body_schema else [],
                "body_description": (body or {}).get("description", ""),
                "body_extra": bool(body and body.get("additionalProperties") is True),
                "objects": objects,
                "success_status": success_status,
                "response_fields": _fields(success_schema, components),
                "errors": [
                    {"status": status, "description": response["description"],
                     "example": response["content"]["application/json"]["example"]}
                    for status, response in operation["responses"].items()
                    if status != success_status
                ],
            })
    return sections
