"""The dashboard's reading of the OpenAPI document: one section per operation.

The API reference page (messaging.views.api_keys) shows what the document says, so the
schemas that validate requests are also the only reference of them.
"""

from __future__ import annotations

from typing import Any

from .openapi import openapi_document
from .validation import NO_NUL_PATTERN


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
            if key in option and not (key == "pattern" and option[key] == NO_NUL_PATTERN):
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
