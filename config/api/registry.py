"""The endpoint registry: each app declares its REST endpoints in its `api.py`.

One registry serves three purposes: `config/urls.py` routes the paths (wrapped by
messaging's guard), the OpenAPI document is generated from the same pydantic models that
validate requests, and the API reference page reads that document.

Calling convention of an endpoint view
--------------------------------------
The guard authenticates, rate-limits, parses and validates before the view runs, then calls

    view(request, body=<validated body>)     # a POST declaring body=Model
    view(request, query=<validated query>)   # a GET declaring query=Model
    view(request)                            # an endpoint declaring neither

`request.api_key` is the caller's ApiKey (None when `permission=None`) and `request.json`
the raw JSON object of a POST. The view returns a response, or raises `ApiError` (an
answer of its own) or a `DomainError` (a service's refusal, answered through the domain
error table). A view never validates its input itself.

Input options of `@endpoint`, applied in this order by the guard (config.api.inputs):

- `prepare`: Braze's own checks and reshaping before the schema — it receives the JSON
  object (POST) or the QueryDict (GET) and returns what the model validates; it may raise
  `ApiError` with Braze's text (e.g. "Invalid Extra Push Payload"). Without it a query is
  read as `QueryDict.dict()` (the last value of a repeated parameter).
- text that no database stores (a NUL character, a lone surrogate) anywhere in the input,
  names included, is a 400 naming where it is, for every endpoint. `text_per_object=True`
  leaves that to the endpoint's `parse`, which refuses such an object on its own
  (/users/track's partial success) with the same check (`validation.first_text_problem`).
- `parse`: validates in place of `model.model_validate`, for an endpoint that validates
  piece by piece (/users/track: each object on its own, with partial success); the model
  then only documents the input.
- `error_style`: how pydantic's errors read (config.api.validation.ErrorStyle).

`idempotent=True` (POST only, with a permission) honours an `Idempotency-Key` header: the
view's work and the stored answer commit in one transaction; a retry within 24 hours gets
the stored answer (`Idempotent-Replayed: true`), the same key with another body a 422.

`answers={404: ("when", {"message": …})}` documents an error status the view itself answers
(an `ApiError` of its own) with an example body, beyond those the guard answers for every
endpoint: the OpenAPI document lists
every status an endpoint can answer, and the fuzzing gate (tests/test_fuzz_api.py) fails
on any other.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic

from .validation import ErrorStyle


@dataclass(frozen=True)
class Endpoint:
    path: str  # Braze's path, at the server root, e.g. "/messages/send"
    method: str  # "GET" or "POST"
    permission: str | None  # None: no API key needed (e.g. signed-token endpoints)
    rate_limit: str  # a scope name in messaging.access.ratelimit.DEFAULT_LIMITS
    summary: str
    view: Callable[..., Any]
    body: type[pydantic.BaseModel] | None = None
    query: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    success_status: int = 200
    tags: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    error_style: ErrorStyle = ErrorStyle.PYDANTIC
    text_per_object: bool = False
    prepare: Callable[[Any], Any] | None = None
    parse: Callable[[Any], Any] | None = None
    idempotent: bool = False
    answers: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def input_name(self) -> str | None:
        """The keyword the view receives its validated input under, if any."""
        if self.body is not None:
            return "body"
        if self.query is not None:
            return "query"
        return None

    @property
    def input_model(self) -> type[pydantic.BaseModel] | None:
        return self.body if self.body is not None else self.query


REGISTRY: dict[tuple[str, str], Endpoint] = {}


def _check(endpoint: Endpoint) -> None:
    """Refuse at import time a declaration the guard could not honour."""
    where = f"{endpoint.method} {endpoint.path}"
    if endpoint.body is not None and endpoint.method != "POST":
        raise TypeError(f"{where}: only a POST has a body")
    if endpoint.query is not None and endpoint.method != "GET":
        raise TypeError(f"{where}: only a GET is declared with query=")
    if endpoint.input_name is None and (endpoint.prepare or endpoint.parse):
        raise TypeError(f"{where}: prepare and parse need body= or query=")
    if endpoint.text_per_object and endpoint.parse is None:
        raise TypeError(f"{where}: text_per_object needs a parse that checks each object")
    if endpoint.idempotent and (endpoint.method != "POST" or endpoint.permission is None):
        raise TypeError(f"{where}: idempotency needs a POST with an API key (permission)")
    arguments = {endpoint.input_name: None} if endpoint.input_name else {}
    try:
        inspect.signature(endpoint.view).bind(None, **arguments)
    except TypeError:
        expected = ", ".join(["request", *arguments])
        message = f"{where}: the view must take ({expected}), see config.api.registry"
        raise TypeError(message) from None


def endpoint(
    path: str,
    *,
    method: str = "POST",
    permission: str | None,
    summary: str,
    rate_limit: str = "default",
    body: type[pydantic.BaseModel] | None = None,
    query: type[pydantic.BaseModel] | None = None,
    response: type[pydantic.BaseModel] | None = None,
    success_status: int | None = None,
    tags: tuple[str, ...] = (),
    error_style: ErrorStyle = ErrorStyle.PYDANTIC,
    text_per_object: bool = False,
    prepare: Callable[[Any], Any] | None = None,
    parse: Callable[[Any], Any] | None = None,
    idempotent: bool = False,
    answers: dict[int, tuple[str, dict[str, Any]]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a REST view (calling convention and options: this module's docstring)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        declared = Endpoint(
            path=path,
            method=method,
            permission=permission,
            rate_limit=rate_limit,
            summary=summary,
            view=view,
            body=body,
            query=query,
            response=response,
            success_status=success_status or (201 if method == "POST" else 200),
            tags=tags,
            description=(view.__doc__ or "").strip(),
            error_style=error_style,
            text_per_object=text_per_object,
            prepare=prepare,
            parse=parse,
            idempotent=idempotent,
            answers=dict(answers or {}),
        )
        _check(declared)
        REGISTRY[(path, method)] = declared
        return view

    return register
