"""An endpoint's input, validated once before its view runs (called by the guard).

The declared input is the JSON body of a POST (`body=`) or the query string of a GET
(`query=`). It goes through, in order: the endpoint's `prepare` (Braze's own pre-checks,
and reshaping), the NUL check where the endpoint asks for it, then the declared model (or
the endpoint's `parse`). A refusal is a 400 whose `errors` name the fields.
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.http import HttpRequest

from .envelope import ApiError, refusal_message
from .registry import Endpoint
from .validation import NUL_ERROR, contains_nul, validate, validation_errors


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
    if endpoint.refuse_nul and contains_nul(raw):
        raise ApiError(400, "Bad Request", [NUL_ERROR])
    if endpoint.parse is not None:
        try:
            return endpoint.parse(raw)
        except pydantic.ValidationError as exc:
            errors = validation_errors(exc, style=endpoint.error_style)
            raise ApiError(400, refusal_message(errors), errors) from None
    return validate(model, raw, style=endpoint.error_style)
