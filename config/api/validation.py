"""Validation: the one error formatter, the one NUL check, and `validate`.

Two error styles exist because Braze clients have seen both, endpoint by endpoint, and an
answer never changes its wording (see `ErrorStyle`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import pydantic

from .envelope import ApiError, refusal_message

# PostgreSQL stores no NUL character in text: a field with this pattern refuses one, as a 400.
NO_NUL_PATTERN = r"^[^\x00]*$"
NoNul = Annotated[str, pydantic.Field(pattern=NO_NUL_PATTERN)]
# The one wording of a NUL refusal: of a whole body, and of one object (/users/track).
NUL_TEXT = "text must not contain NUL characters"
NUL_ERROR = f"body: {NUL_TEXT}"
# pydantic's error types that mean "this should have been an object".
_OBJECT_TYPES = ("dict_type", "model_type", "model_attributes_type")


class ErrorStyle(StrEnum):
    """How a pydantic error reads in an answer's `errors` (one formatter, two dialects).

    - PYDANTIC: `location: pydantic's message` — "Value error, …" included — and `body`
      as the location of a rule about the whole body (/messages/send, /sends/id/create,
      /engagement/track, the export and content card endpoints).
    - PLAIN: the validator's own text without "Value error, ", "must be an object" for a
      wrong type where an object belongs, and no location for a rule about a whole object
      (the /users/*, /email/* and /subscription/* endpoints, and /users/track's objects).
    """

    PYDANTIC = "pydantic"
    PLAIN = "plain"


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def validation_errors(
    exc: pydantic.ValidationError, *, style: ErrorStyle = ErrorStyle.PYDANTIC
) -> list[str]:
    """Pydantic's errors as stable, human strings that name the field."""
    messages = []
    for error in exc.errors(include_url=False):
        # Union members add their type name to the location; drop those noise parts.
        where = _location(tuple(
            part for part in error["loc"]
            if not (isinstance(part, str) and ("[" in part or part.startswith("function-")))
        ))
        if style is ErrorStyle.PYDANTIC:
            messages.append(f"{where or 'body'}: {error['msg']}")
            continue
        if error["type"] == "value_error":
            text = str(error["ctx"]["error"])
        elif error["type"] in _OBJECT_TYPES:
            text = "must be an object"
        else:
            text = error["msg"]
        messages.append(f"{where}: {text}" if where else text)
    return messages


def contains_nul(value: Any) -> bool:
    """True if a NUL character hides in any string or key (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


def validate(
    model: type[pydantic.BaseModel], data: Any, *, style: ErrorStyle = ErrorStyle.PYDANTIC
) -> Any:
    """Validate `data` with `model`, or raise a 400 naming the fields in error."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = validation_errors(exc, style=style)
        raise ApiError(400, refusal_message(errors), errors) from None
