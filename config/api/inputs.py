"""An endpoint's input, validated once before its view runs (called by the guard).

The declared input is the JSON body of a POST (`body=`) or the query string of a GET
(`query=`). It goes through, in order: the endpoint's `prepare` (Braze's own pre-checks,
and reshaping), the text check (no NUL, no lone surrogate, unless the endpoint's `parse`
checks each object), then the declared model (or the endpoint's `parse`). A refusal is a
400 whose `errors` name the fields: the body's by their path (`messages.sms.body`), the
query's by the parameter (`external_id`).
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.http import HttpRequest

from .envelope import ApiError, refusal_message
from .registry import Endpoint
from .validation import text_errors, validate, validation_errors


def view_arguments(
    endpoint: Endpoint, request: HttpRequest, data: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments of the view: `{"body": …}`, `{"query": …}` or `{}`; or a 400.

    `data` is the parsed JSON body of a POST; a GET reads the query string instead.
    """
    if endpoint.input_name is None:
        return {}
    return {endpoint.input_name: _validated(endpoint, request, data)}


def _validated(endpoint: Endpoint, request: HttpRequest, data: dict[str, Any]) -> Any:
    model = endpoint.input_model
    raw: Any = data if endpoint.method == "POST" else request.GET
    if endpoint.prepare is not None:
        raw = endpoint.prepare(raw)
    elif endpoint.method != "POST":
        raw = raw.dict()  # a repeated parameter takes its last value
    if not endpoint.text_per_object:
        errors = text_errors(raw)
        if errors:
            raise ApiError(400, refusal_message(errors), errors)
    whole = endpoint.input_name or "body"
    if endpoint.parse is not None:
        try:
            return endpoint.parse(raw)
        except pydantic.ValidationError as exc:
            errors = validation_errors(exc, style=endpoint.error_style, whole=whole)
            raise ApiError(400, refusal_message(errors), errors) from None
    return validate(model, raw, style=endpoint.error_style, whole=whole)
