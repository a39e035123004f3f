"""Braze's envelope: every answer is a JSON object with a top-level `message`.

Errors are `{"message": "...", "errors": [...]}` (the list names the fields at fault where
there are some); successes are `{"message": "success", ...}`.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


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


def refusal_message(errors: list[str]) -> str:
    """The `message` of a refusal listing `errors`: the one error itself, else "Bad Request"."""
    return errors[0] if len(errors) == 1 else "Bad Request"


def api_response(body: dict[str, Any] | None = None, status: int = 200) -> JsonResponse:
    """A success answer: `{"message": "success", ...}`."""
    payload = {"message": "success"}
    payload.update(body or {})
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})


def stored_response(status: int, body: dict[str, Any]) -> JsonResponse:
    """An answer rebuilt from its stored status and body (an idempotent replay)."""
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
