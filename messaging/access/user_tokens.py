"""Per-user tokens: HS256 JWTs the customer's backend signs for one of its users.

The customer's app or web page holds such a token, never a REST key: `sub` is the user's
external_id and `exp` is required (as Braze's SDK authentication works). Signed with the
installation's CONTENT_CARD_JWT_SECRET; read by the app's card feed
(/content_cards/sdk/feed) and by the web SDK's endpoints (messaging.sdk).
"""

from __future__ import annotations

import jwt
from django.conf import settings

from config.api import ApiError
from config.api.validation import text_problem


def user_token_subject(token: str, *, headers: dict[str, str] | None = None) -> str:
    """The external_id a valid token names, or a 401 saying what is wrong with it."""
    headers = headers or {}
    secret = settings.CONTENT_CARD_JWT_SECRET
    if not secret:
        raise ApiError(
            401, "Unauthorized", ["content card tokens are not enabled (CONTENT_CARD_JWT_SECRET)"],
            headers=headers,
        )
    try:
        claims = jwt.decode(
            token.strip(), secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "Unauthorized", ["token: expired"], headers=headers) from None
    except jwt.PyJWTError as exc:
        raise ApiError(401, "Unauthorized", [f"token: {exc}"], headers=headers) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or text_problem(subject):
        raise ApiError(401, "Unauthorized", ["token: sub must be the external_id"],
                       headers=headers)
    return subject
