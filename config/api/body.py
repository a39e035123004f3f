"""Reading a request's JSON body: size and depth are screened before parsing, then parsed once."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .envelope import ApiError

# Deeper JSON than this is refused before parsing: Python's parser and the validators
# recurse, and a body of 100,000 '[' would otherwise end in a RecursionError (a 500).
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if brackets outside strings nest deeper than `limit` (no parsing, no recursion)."""
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def screen_body(request: HttpRequest) -> None:
    """Refuse a body too large (413) or, for a POST, nested too deep (400), without parsing it."""
    if len(request.body) > settings.API_MAX_BODY_BYTES:
        raise ApiError(413, "Request body too large",
                       [f"body: at most {settings.API_MAX_BODY_BYTES} bytes"])
    if request.method == "POST" and json_too_deep(request.body):
        raise ApiError(400, "Bad Request",
                       [f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"])


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400."""
    try:
        data = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Bad Request", ["body: not valid JSON"]) from None
    if not isinstance(data, dict):
        raise ApiError(400, "Bad Request", ["body: must be a JSON object"])
    return data
