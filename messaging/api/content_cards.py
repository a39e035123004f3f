"""REST endpoints: a profile's content card feed, for server code and for the customer's app.

- `GET /content_cards/feed?external_id=…` — server code, with a REST key holding
  `content_cards.read`.
- `GET /content_cards/sdk/feed` — the customer's app, with `Authorization: Bearer <token>`
  where the token is an HS256 JWT signed by the customer's backend with
  CONTENT_CARD_JWT_SECRET, whose `sub` is the profile's external_id and which has an
  `exp` (as Braze's SDK authentication works). No REST key ever ships inside an app.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from config.api import ApiError, api_response, endpoint

from ..access.user_tokens import user_token_subject
from ..models import Profile
from ..schemas.content_cards import MAX_CARDS, FeedQuery, FeedResponse
from ..services.content_cards import content_card_feed, content_card_json


def _feed(external_id: str) -> JsonResponse:
    profile = Profile.objects.filter(external_id=external_id).first()
    if profile is None:
        raise ApiError(404, "Not Found", [f"external_id: no user {external_id!r}"])
    cards = [content_card_json(card) for card in content_card_feed(profile=profile)[:MAX_CARDS]]
    return api_response({"external_id": external_id, "cards": cards})


@endpoint(
    "/content_cards/feed",
    method="GET",
    permission="content_cards.read",
    summary="Read a profile's content cards (server side, REST key)",
    query=FeedQuery,
    response=FeedResponse,
    tags=("Content Cards",),
    answers={404: ("No profile has this external_id",
                   {"message": "Not Found", "errors": ["external_id: no user 'u-1'"]})},
)
def content_cards_feed(request: HttpRequest, query: FeedQuery) -> JsonResponse:
    """The live cards of the profile with this `external_id`: not expired, not dismissed,
    pinned first, then newest first (at most 100)."""
    return _feed(query.external_id)


def _token_subject(request: HttpRequest) -> str:
    if not settings.CONTENT_CARD_JWT_SECRET:
        return user_token_subject("")  # the 401 saying tokens are not enabled
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Unauthorized", ["Authorization: Bearer <signed token> required"])
    return user_token_subject(token)


@endpoint(
    "/content_cards/sdk/feed",
    method="GET",
    permission=None,
    summary="Read the signed-in user's content cards (from the app, per-profile token)",
    response=FeedResponse,
    tags=("Content Cards",),
    answers={401: ("No token, or one that is not signed, unexpired and naming a user (or "
                   "content card tokens are not enabled)",
                   {"message": "Unauthorized", "errors": ["token: expired"]}),
             404: ("No profile has the token's external_id",
                   {"message": "Not Found", "errors": ["external_id: no user 'u-1'"]})},
)
def content_cards_sdk_feed(request: HttpRequest) -> JsonResponse:
    """For the customer's app: `Authorization: Bearer <JWT>`, HS256-signed by the customer's
    backend with the installation's CONTENT_CARD_JWT_SECRET; `sub` is the external_id and
    `exp` is required. Answers the same feed as `/content_cards/feed`."""
    return _feed(_token_subject(request))
