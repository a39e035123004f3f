"""Domain errors, and the one table that answers them in Braze's words.

Services never speak HTTP. They raise a `DomainError` subclass defined by the app that owns
the concept (`campaigns.errors.UnknownCampaign`, `messaging.errors.QuotaExceeded`, …),
carrying the per-field detail in `errors`. The composition root (config/urls.py) registers
one table mapping each class to Braze's status and message text; the guard answers any
DomainError a view lets through with `api_error(exc).response()`.

This module imports no app: the table's contents live with the code that imports every app
(config/braze_errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .envelope import ApiError, refusal_message


class DomainError(Exception):
    """A service's refusal in the domain's terms; `errors` name the fields at fault."""

    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors) or type(self).__name__)
        self.errors = list(errors)


@dataclass(frozen=True)
class Answer:
    """Braze's answer to a domain error: a status and the `message` text.

    `message=None` answers as a validation refusal does: the one error's own text, or
    "Bad Request" when there are several.
    """

    status: int
    message: str | None


_TABLE: dict[type[DomainError], Answer] = {}


def answer_domain_errors(table: Mapping[type[DomainError], Answer]) -> None:
    """Register the table (once, from config/urls.py, before any request is served)."""
    _TABLE.update(table)


def answer_for(error_class: type[DomainError]) -> Answer | None:
    """The registered answer of a class, or of its nearest registered ancestor."""
    for cls in error_class.__mro__:
        if cls in _TABLE:
            return _TABLE[cls]
    return None


def api_error(exc: DomainError, *, headers: dict[str, str] | None = None) -> ApiError:
    """The ApiError that answers `exc`; LookupError if the table forgot its class (a bug)."""
    answer = answer_for(type(exc))
    if answer is None:
        raise LookupError(f"{type(exc).__name__} is missing from the domain error table") from exc
    message = answer.message if answer.message is not None else refusal_message(exc.errors)
    return ApiError(answer.status, message, exc.errors or None, headers=headers)
