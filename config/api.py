"""The REST API's plumbing, shared by every app: the endpoint registry and Braze's envelope.

Each app declares its endpoints in its `api.py` with `@endpoint(...)`. One registry then
serves three purposes: `config/urls.py` routes the paths (wrapped by messaging's key
check), the OpenAPI document is generated from the same pydantic models that validate
requests, and the API reference page reads it. Nothing here knows about models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from django.http import HttpRequest, JsonResponse


class ApiError(Exception):
    """An error answered in Braze's envelope: a top-level `message`, maybe `errors`."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        response = JsonResponse(body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def api_response(body: dict[str, Any] | None = None, status: int = 200) -> JsonResponse:
    """A success answer: `{"message": "success", ...}`."""
    payload = {"message": "success"}
    payload.update(body or {})
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "body"


def validation_errors(exc: pydantic.ValidationError) -> list[str]:
    """Pydantic's errors as stable, human strings that name the field."""
    messages = []
    for error in exc.errors(include_url=False):
        # Union members add their type name to the location; drop those noise parts.
        loc = tuple(
            part for part in error["loc"]
            if not (isinstance(part, str) and ("[" in part or part.startswith("function-")))
        )
        messages.append(f"{_location(loc)}: {error['msg']}")
    return messages


def validate(model: type[pydantic.BaseModel], data: Any) -> Any:
    """Validate `data` with `model`, or raise a 400 naming the fields in error."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = validation_errors(exc)
        raise ApiError(400, errors[0] if len(errors) == 1 else "Bad Request", errors) from None


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400."""
    try:
        data = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "Bad Request", ["body: not valid JSON"]) from None
    if not isinstance(data, dict):
        raise ApiError(400, "Bad Request", ["body: must be a JSON object"])
    return data


@dataclass(frozen=True)
class Endpoint:
    path: str  # Braze's path, at the server root, e.g. "/messages/send"
    method: str  # "GET" or "POST"
    permission: str | None  # None: no API key needed (e.g. signed-token endpoints)
    rate_limit: str  # a scope name in messaging.ratelimit.LIMITS
    summary: str
    view: Callable[..., Any]
    body: type[pydantic.BaseModel] | None = None
    query: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    success_status: int = 200
    tags: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""


REGISTRY: dict[tuple[str, str], Endpoint] = {}


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
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a REST view. The view takes (request) and returns a response or raises ApiError.

    Authentication, permission, rate limiting and body parsing happen around it
    (messaging.auth.guard); the view finds `request.api_key` and `request.json` set.
    """

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[(path, method)] = Endpoint(
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
        )
        return view

    return register
