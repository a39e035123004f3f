"""Reading a request's JSON body: size and depth are screened before parsing, then parsed once.

Parsing is strict about numbers JSON allows but Python cannot hold faithfully: `NaN`,
`Infinity` and `-Infinity` (not JSON at all, though Python's parser takes them), a float
that overflows (`1e400` would become infinity) and an integer of more digits than Python
converts (`sys.get_int_max_str_digits()`, 4,300 by default, raises ValueError). Each is a
400 naming where it is, as a NUL or a lone surrogate is (config.api.inputs).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from .envelope import ApiError, refusal_message

# Deeper JSON than this is refused before parsing: Python's parser and the validators
# recurse, and a body of 100,000 '[' would otherwise end in a RecursionError (a 500).
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
NOT_FINITE_TEXT = "number must be finite (no NaN or Infinity)"
TOO_LARGE_TEXT = "number too large"


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if brackets outside strings nest deeper than `limit` (no parsing, no recursion)."""
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


def _too_large() -> ApiError:
    return ApiError(
        413, "Request body too large", [f"body: at most {settings.API_MAX_BODY_BYTES} bytes"]
    )


def screen_body(request: HttpRequest) -> None:
    """Refuse a body too large (413) or, for a POST, nested too deep (400), without parsing it.

    A declared Content-Length over the cap is refused before anything is read. Django
    itself refuses to read more than DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig, which
    it would answer with an HTML 400): that is a 413 in the envelope too.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.API_MAX_BODY_BYTES:
        raise _too_large()
    try:
        body = request.body
    except RequestDataTooBig:
        raise _too_large() from None
    if len(body) > settings.API_MAX_BODY_BYTES:
        raise _too_large()
    if request.method == "POST" and json_too_deep(body):
        raise ApiError(
            400, "Bad Request", [f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"]
        )


class _Unheld:
    """Stands, in a parsed body, for a number Python cannot hold; `problem` says why."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def loads(raw: bytes | str) -> tuple[Any, bool]:
    """Parse JSON; return (data, whether it holds numbers Python cannot hold as `_Unheld`)."""
    found = False

    def unheld(problem: str) -> _Unheld:
        nonlocal found
        found = True
        return _Unheld(problem)

    def parse_float(text: str) -> float | _Unheld:
        value = float(text)
        return value if math.isfinite(value) else unheld(TOO_LARGE_TEXT)

    def parse_int(text: str) -> int | _Unheld:
        try:
            return int(text)
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            return unheld(TOO_LARGE_TEXT)

    data = json.loads(
        raw,
        parse_float=parse_float,
        parse_int=parse_int,
        parse_constant=lambda name: unheld(NOT_FINITE_TEXT),
    )
    return data, found


def _unheld_numbers(value: Any, where: str) -> Iterator[str]:
    # Recursion is bounded: deeper bodies were refused by screen_body.
    if isinstance(value, _Unheld):
        yield f"{where or 'body'}: {value.problem}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unheld_numbers(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unheld_numbers(item, f"{where or 'body'}[{index}]")


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400."""
    try:
        data, unheld = loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Bad Request", ["body: not valid JSON"]) from None
    if unheld:
        errors = list(_unheld_numbers(data, ""))[:10]
        raise ApiError(400, refusal_message(errors), errors)
    if not isinstance(data, dict):
        raise ApiError(400, "Bad Request", ["body: must be a JSON object"])
    return data
