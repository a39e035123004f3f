"""Validation: the one error formatter, the one text check (NUL, lone surrogates), `validate`.

Two error styles exist because Braze clients have seen both, endpoint by endpoint, and an
answer never changes its wording (see `ErrorStyle`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import pydantic

from .envelope import ApiError, refusal_message

# PostgreSQL stores no NUL character in text: a field with this pattern refuses one, as a 400.
NO_NUL_PATTERN = r"^[^\x00]*$"
NoNul = Annotated[str, pydantic.Field(pattern=NO_NUL_PATTERN)]
# The wordings of a text refusal, for a whole input and for one object (/users/track).
NUL_TEXT = "text must not contain NUL characters"
SURROGATE_TEXT = "text must not contain lone surrogates (not valid Unicode)"
# A lone surrogate ("\ud800" in JSON) cannot be encoded as UTF-8: no database stores it.
_SURROGATE = re.compile("[\ud800-\udfff]")
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
    exc: pydantic.ValidationError, *, style: ErrorStyle = ErrorStyle.PYDANTIC,
    whole: str = "body",
) -> list[str]:
    """Pydantic's errors as stable, human strings that name the field.

    `whole` names the input in a PYDANTIC-style error about all of it: "body" for a JSON
    body, "query" for a query string.
    """
    messages = []
    for error in exc.errors(include_url=False):
        # Union members add their type name to the location; drop those noise parts. The
        # first part is always a field (or parameter) name, brackets and all
        # (`last_edit.time[gt]`).
        loc = error["loc"]
        where = _location(loc[:1] + tuple(
            part for part in loc[1:]
            if not (isinstance(part, str) and ("[" in part or part.startswith("function-")))
        ))
        if style is ErrorStyle.PYDANTIC:
            messages.append(f"{where or whole}: {error['msg']}")
            continue
        if error["type"] == "value_error":
            text = str(error["ctx"]["error"])
        elif error["type"] in _OBJECT_TYPES:
            text = "must be an object"
        else:
            text = error["msg"]
        messages.append(f"{where}: {text}" if where else text)
    return messages


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return NUL_TEXT
    if not text.isascii() and _SURROGATE.search(text):
        return SURROGATE_TEXT
    return None


def _shown(key: str) -> str:
    """A key as an error may name it: escaped (ASCII) when it is the key at fault."""
    return json.dumps(key)[1:-1] if text_problem(key) else key


def _text_problems(value: Any, where: str) -> Iterator[tuple[str, str]]:
    # Recursion is bounded: JSON bodies are refused deeper than body.MAX_JSON_DEPTH.
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield where, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            here = f"{where}.{_shown(key)}" if where else _shown(key)
            problem = text_problem(key) if isinstance(key, str) else None
            if problem:
                yield here, problem
            yield from _text_problems(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_problems(item, f"{where}[{index}]")


def text_errors(value: Any, *, limit: int = 10) -> list[str]:
    """`location: problem` for each string or key that cannot be stored (at most `limit`).

    The one text check: a NUL character (PostgreSQL stores none in text or jsonb) or a lone
    surrogate (no UTF-8 encoding exists, so SQLite's driver and psycopg both fail on it).
    """
    errors = []
    for where, problem in _text_problems(value, ""):
        errors.append(f"{where}: {problem}" if where else problem)
        if len(errors) >= limit:
            break
    return errors


def first_text_problem(value: Any) -> str | None:
    """The problem of the first string or key of `value` that cannot be stored, or None."""
    return next((problem for _, problem in _text_problems(value, "")), None)


def validate(
    model: type[pydantic.BaseModel], data: Any, *, style: ErrorStyle = ErrorStyle.PYDANTIC,
    whole: str = "body",
) -> Any:
    """Validate `data` with `model`, or raise a 400 naming the fields in error."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = validation_errors(exc, style=style, whole=whole)
        raise ApiError(400, refusal_message(errors), errors) from None
