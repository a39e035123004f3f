"""REST endpoints of Herald's web SDK (static/sdk/herald.mjs): POST /sdk/v1/…

Herald's own, beyond Braze (Braze's Web SDK talks to Braze alone). Each body names the
web app by its public `sdk_key`; each call for a user carries that user's `token`, an HS256
JWT signed by the customer's backend (`sub` = external_id, `exp` required), so a page can
act only for the user its backend signed for. A browser may call only from the web app's
allowed origins (CORS: messaging.sdk.cors). Bodies may be sent as `text/plain` JSON, which
spares the browser a CORS preflight. Rate limits: per key ("sdk") and per address
("sdk.address"); see messaging.sdk.access.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from config.api import ApiError, api_response, endpoint

from ..models import ChannelConfig, Provider
from ..schemas.content_cards import MAX_CARDS
from ..services.content_cards import content_card_json
from . import services
from .access import sdk_caller
from .schemas import (
    CardEventsRequest,
    CardsRequest,
    CardsResponse,
    IdentifyRequest,
    IdentifyResponse,
    PushOpenRequest,
    PushRefreshRequest,
    PushSubscribeRequest,
    RecordedResponse,
    SdkSuccess,
    SessionRequest,
    TrackRequest,
    TrackResponse,
)

TAGS = ("Web SDK",)
_KEY_ANSWERS: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("No web app has this sdk_key",
          {"message": "Invalid SDK key",
           "errors": ["sdk_key: no web app has this key (Settings › Apps › Try the SDK)"]}),
    403: ("A browser calling from an origin the web app does not allow",
          {"message": "Origin not allowed",
           "errors": ["Origin: https://evil.example is not an allowed origin of this web app"]}),
}
_USER_ANSWERS: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("Unknown sdk_key, or the user's token is missing, unsigned, expired or names no "
          "user (or user tokens are not enabled: CONTENT_CARD_JWT_SECRET)",
          {"message": "Unauthorized", "errors": ["token: expired"]}),
    403: _KEY_ANSWERS[403],
}


def _answer(body: dict[str, Any], headers: dict[str, str], status: int = 201) -> JsonResponse:
    response = api_response(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _vapid_public_key(app_pk: int) -> str | None:
    config = ChannelConfig.objects.filter(app_id=app_pk, channel="web_push",
                                          provider=Provider.WEBPUSH).first()
    return (config.options.get("vapid_public_key") or None) if config else None


@endpoint("/sdk/v1/identify", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK: identify the signed-in user", body=IdentifyRequest,
          response=IdentifyResponse, success_status=200, answers=_USER_ANSWERS)
def sdk_identify(request: HttpRequest, body: IdentifyRequest) -> JsonResponse:
    """The user the token names (created if new, as /users/track creates it). With
    `external_id`, it must be the token's `sub`. Also answers the web app's VAPID public
    key, which the browser needs to subscribe to web push."""
    caller = sdk_caller(request, body.sdk_key)
    external_id = caller.external_id(body.token)
    if body.external_id is not None and body.external_id != external_id:
        raise ApiError(401, "Unauthorized", ["external_id: the token names another user"],
                       headers=caller.rate_headers)
    profile = services.sdk_identify(external_id=external_id)
    return _answer({"external_id": external_id, "braze_id": profile.braze_id,
                    "vapid_public_key": _vapid_public_key(caller.app_pk)},
                   caller.rate_headers, status=200)


@endpoint("/sdk/v1/session", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK: the user opened a session", body=SessionRequest,
          response=SdkSuccess, answers=_USER_ANSWERS)
def sdk_session(request: HttpRequest, body: SessionRequest) -> JsonResponse:
    """Records the user's `date_of_last_session` as /users/track does (a "Starts Session"
    conversion where a campaign has one)."""
    caller = sdk_caller(request, body.sdk_key)
    services.sdk_session_start(external_id=caller.external_id(body.token), app_id=caller.app_id)
    return _answer({}, caller.rate_headers)


@endpoint("/sdk/v1/track", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK: custom events and purchases of the user", body=TrackRequest,
          response=TrackResponse, answers=_USER_ANSWERS)
def sdk_track(request: HttpRequest, body: TrackRequest) -> JsonResponse:
    """Custom events and purchases (at most 75 each), recorded as /users/track records
    them: they count as conversions, and purchases as revenue, in the same way. `time`
    defaults to now. The whole body is valid or nothing is recorded."""
    caller = sdk_caller(request, body.sdk_key)
    external_id = caller.external_id(body.token)
    events, purchases = services.sdk_track(external_id=external_id, app_id=caller.app_id,
                                           events=body.events, purchases=body.purchases)
    return _answer({"events_processed": events, "purchases_processed": purchases},
                   caller.rate_headers)


@endpoint("/sdk/v1/content_cards", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK: the user's content cards", body=CardsRequest,
          response=CardsResponse, success_status=200, answers=_USER_ANSWERS)
def sdk_content_cards(request: HttpRequest, body: CardsRequest) -> JsonResponse:
    """The same feed as /content_cards/sdk/feed: live cards only (not expired, not
    dismissed), pinned first, then newest (at most 100). A POST, so the token stays out of
    URLs and access logs."""
    caller = sdk_caller(request, body.sdk_key)
    external_id = caller.external_id(body.token)
    cards = services.sdk_cards(external_id=external_id)[:MAX_CARDS]
    return _answer({"external_id": external_id, "cards": [content_card_json(c) for c in cards]},
                   caller.rate_headers, status=200)


@endpoint("/sdk/v1/content_cards/events", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK: impressions, clicks and dismissals of the user's cards",
          body=CardEventsRequest, response=RecordedResponse, answers=_USER_ANSWERS)
def sdk_card_events(request: HttpRequest, body: CardEventsRequest) -> JsonResponse:
    """Each event names one of the user's own cards (`card_id`). Impressions and clicks
    count per event `id` (a retry with the same `id` counts once), a dismissal once per
    card; a dismissed card leaves the feed. A card that is not the user's refuses the
    whole report, which then leaves no trace."""
    caller = sdk_caller(request, body.sdk_key)
    recorded = services.sdk_card_events(external_id=caller.external_id(body.token),
                                        events=body.events)
    return _answer({"events_processed": len(body.events), "events_recorded": recorded},
                   caller.rate_headers)


@endpoint("/sdk/v1/push/subscribe", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK: register the browser's web push subscription",
          body=PushSubscribeRequest, response=SdkSuccess, answers=_USER_ANSWERS)
def sdk_push_subscribe(request: HttpRequest, body: PushSubscribeRequest) -> JsonResponse:
    """The browser's PushSubscription (its `toJSON()`) becomes the user's web push token
    of this web app: `/messages/send` with `web_push` reaches it."""
    caller = sdk_caller(request, body.sdk_key)
    services.sdk_push_subscribe(external_id=caller.external_id(body.token),
                                app_id=caller.app_id, subscription=body.subscription)
    return _answer({}, caller.rate_headers)


@endpoint("/sdk/v1/push/refresh", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK service worker: a push subscription was renewed",
          body=PushRefreshRequest, response=SdkSuccess,
          answers={**_KEY_ANSWERS, 404: (
              "No subscription of this web app has old_endpoint",
              {"message": "Not Found", "errors": ["old_endpoint: no such subscription"]})})
def sdk_push_refresh(request: HttpRequest, body: PushRefreshRequest) -> JsonResponse:
    """Sent by the service worker on `pushsubscriptionchange` (it holds no user token):
    the token whose endpoint was `old_endpoint` takes the new subscription."""
    caller = sdk_caller(request, body.sdk_key)
    if not services.sdk_push_refresh(app_id=caller.app_id, old_endpoint=body.old_endpoint,
                                     subscription=body.subscription):
        raise ApiError(404, "Not Found", ["old_endpoint: no such subscription"],
                       headers=caller.rate_headers)
    return _answer({}, caller.rate_headers)


@endpoint("/sdk/v1/push/open", permission=None, rate_limit="sdk", tags=TAGS,
          summary="Web SDK service worker: a web push was clicked",
          body=PushOpenRequest, response=RecordedResponse, answers=_KEY_ANSWERS)
def sdk_push_open(request: HttpRequest, body: PushOpenRequest) -> JsonResponse:
    """A direct open of the web push `message_id` (the notification's
    `herald_message_id`), counted once per message on the push's variation."""
    caller = sdk_caller(request, body.sdk_key)
    recorded = services.sdk_push_open(app_id=caller.app_id, message_id=body.message_id,
                                      when=body.time)
    return _answer({"events_processed": 1, "events_recorded": recorded}, caller.rate_headers)
