"""What the web SDK's endpoints do, through the same services as the REST API.

Identify, sessions, custom events, purchases and push subscriptions are /users/track
objects for the token's user (messaging.services.profiles.profiles_track), so they count
as conversions exactly as /users/track's do; card interactions and push opens are
/engagement/track events (messaging.services.engagement.engagement_track), so they reach
the results of the card's or the push's variation.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record

from ..errors import UnknownEngagementTarget
from ..models import App, ContentCard, Delivery, Profile, PushToken, SdkKey
from ..models.sdk import new_sdk_key
from ..schemas.engagement import MessageEvent
from ..schemas.users import TrackAttributes, TrackEvent, TrackPurchase
from ..services.content_cards import content_card_feed
from ..services.engagement import engagement_track
from ..services.profiles import profiles_track
from .access import forget_sdk_key
from .schemas import CardEvent, PushSubscriptionIn, SdkEvent, SdkPurchase

MAX_ORIGINS = 50
CARD_EVENT_TYPES = {"impression": "card_impression", "click": "card_click",
                    "dismissal": "card_dismissal"}


def _attributes(external_id: str, **fields: Any) -> list[tuple[int, TrackAttributes]]:
    return [(0, TrackAttributes.model_validate({"external_id": external_id, **fields}))]


@transaction.atomic
def sdk_identify(*, external_id: str) -> Profile:
    """The token's user, created as /users/track would create it if new."""
    profiles_track(attributes=_attributes(external_id), events=None, purchases=None)
    return Profile.objects.get(external_id=external_id)


@transaction.atomic
def sdk_session_start(*, external_id: str, app_id: str) -> None:
    """A session of the user on the web app: Braze's `date_of_last_session`, which counts
    "Starts Session" conversions as /users/track does."""
    profiles_track(attributes=_attributes(external_id, date_of_last_session=timezone.now()),
                   events=None, purchases=None)


@transaction.atomic
def sdk_track(*, external_id: str, app_id: str, events: list[SdkEvent],
              purchases: list[SdkPurchase]) -> tuple[int, int]:
    """Custom events and purchases of the token's user, as /users/track records them."""
    now = timezone.now()

    def fields(item: SdkEvent | SdkPurchase) -> dict[str, Any]:
        data = item.model_dump(exclude_none=True)
        data.update(external_id=external_id, app_id=app_id, time=item.time or now)
        return data

    result = profiles_track(
        attributes=_attributes(external_id),  # the user exists before their events
        events=[(i, TrackEvent.model_validate(fields(e))) for i, e in enumerate(events)] or None,
        purchases=[(i, TrackPurchase.model_validate(fields(p)))
                   for i, p in enumerate(purchases)] or None,
    )
    if result.errors:
        # Validated by the same rules already; a conflict here refuses the whole report.
        raise UnknownEngagementTarget(*[f"{e['input_array']}[{e['index']}]: {e['type']}"
                                        for e in result.errors])
    return len(events), len(purchases)


def sdk_cards(*, external_id: str) -> list[ContentCard]:
    profile = Profile.objects.filter(external_id=external_id).first()
    return [] if profile is None else list(content_card_feed(profile=profile))


@transaction.atomic
def sdk_card_events(*, external_id: str, events: list[CardEvent]) -> int:
    """Impressions, clicks and dismissals of the user's own cards; a card of anybody else
    (or none) refuses the whole report, which then leaves no trace."""
    wanted = {e.card_id for e in events}
    own = set(ContentCard.objects.filter(card_id__in=wanted, profile__external_id=external_id)
              .values_list("card_id", flat=True))
    missing = [f"events[{i}].card_id: no such content card"
               for i, e in enumerate(events) if e.card_id not in own]
    if missing:
        raise UnknownEngagementTarget(*missing)
    return engagement_track(events=[
        MessageEvent(type=CARD_EVENT_TYPES[e.type], card_id=e.card_id, id=e.id, time=e.time)
        for e in events
    ])


def subscription_token(subscription: PushSubscriptionIn) -> str:
    """A PushSubscription as the web push adapter reads it (messaging.channels.webpush),
    in one canonical spelling, so the same subscription is one token."""
    return json.dumps({"endpoint": subscription.endpoint,
                       "keys": {"p256dh": subscription.keys.p256dh,
                                "auth": subscription.keys.auth}},
                      separators=(",", ":"))


@transaction.atomic
def sdk_push_subscribe(*, external_id: str, app_id: str,
                       subscription: PushSubscriptionIn) -> None:
    """The browser's subscription becomes the user's web push token of this app
    (/users/track's `push_tokens`; it moves here from any other user)."""
    token = subscription_token(subscription)
    profiles_track(attributes=_attributes(external_id, push_tokens=[
        {"app_id": app_id, "token": token}]), events=None, purchases=None)


def _endpoint_of(token: str) -> str | None:
    try:
        return str(json.loads(token)["endpoint"])
    except (ValueError, KeyError, TypeError):
        return None


@transaction.atomic
def sdk_push_refresh(*, app_id: str, old_endpoint: str,
                     subscription: PushSubscriptionIn) -> bool:
    """The service worker's `pushsubscriptionchange`: the app's token whose endpoint was
    `old_endpoint` takes the new subscription (knowing that endpoint, a capability URL of
    the push service, is the proof). False when no token had it."""
    candidates = PushToken.objects.select_for_update().filter(
        app_id=app_id, token__contains=json.dumps(old_endpoint)[1:-1])
    old = next((t for t in candidates if _endpoint_of(t.token) == old_endpoint), None)
    if old is None:
        return False
    token = subscription_token(subscription)
    PushToken.objects.filter(app_id=app_id, token=token).exclude(pk=old.pk).delete()
    old.token, old.invalidated_at = token, None
    old.save(update_fields=["token", "invalidated_at"])
    return True


def sdk_push_open(*, app_id: str, message_id: str, when: Any = None) -> int:
    """A click on a web push of this app (a direct open, once per message)."""
    delivery = (Delivery.objects.filter(message_id=message_id, channel="web_push")
                .only("pk", "app_id").first())
    if delivery is None or delivery.app_id not in ("", app_id):
        raise UnknownEngagementTarget("message_id: no such web push")
    return engagement_track(events=[MessageEvent(type="push_open", message_id=message_id,
                                                 time=when)])


# --- the web app's SDK key (dashboard: Settings › Apps › Try the SDK) ----------------------


def _normal_origin(text: str) -> str:
    """An origin as browsers send it (scheme://host[:port], lowercase, no path), or a
    ValueError naming what is wrong."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text.strip()[:100]!r} is not an origin such as https://shop.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text.strip()[:100]!r}: an origin has no path, query or user")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def origins_parse(text: str) -> list[str]:
    """Origins, one per line (or comma-separated), normalized and deduplicated."""
    found: list[str] = []
    for item in text.replace(",", "\n").splitlines():
        if item.strip():
            origin = _normal_origin(item)
            if origin not in found:
                found.append(origin)
    if len(found) > MAX_ORIGINS:
        raise ValueError(f"at most {MAX_ORIGINS} origins")
    return found


def sdk_key_get_or_create(*, app: App, by: AbstractBaseUser | None = None) -> SdkKey:
    """The web app's SDK key, made on first use."""
    if app.platform != App.Platform.WEB:
        raise ValueError("only a web app has an SDK key")
    sdk_key, created = SdkKey.objects.get_or_create(app=app)
    if created:
        audit_record(action="sdk_key.created", actor=by, target=sdk_key,
                     target_id=app.app_id, target_label=app.name)
    return sdk_key


@transaction.atomic
def sdk_key_set_origins(*, sdk_key: SdkKey, origins: list[str],
                        by: AbstractBaseUser | None = None) -> SdkKey:
    before = list(sdk_key.allowed_origins)
    sdk_key.allowed_origins = origins
    sdk_key.full_clean()
    sdk_key.save(update_fields=["allowed_origins"])
    audit_record(action="sdk_key.origins_changed", actor=by, target=sdk_key,
                 target_id=sdk_key.app.app_id, target_label=sdk_key.app.name,
                 changes={"allowed_origins": [before, origins]})
    transaction.on_commit(lambda: forget_sdk_key(sdk_key.key))
    return sdk_key


@transaction.atomic
def sdk_key_rotate(*, sdk_key: SdkKey, by: AbstractBaseUser | None = None) -> SdkKey:
    """A new public key; the old one stops working at once (sites must ship the new one)."""
    old = sdk_key.key
    sdk_key.key = new_sdk_key()
    sdk_key.rotated_at = timezone.now()
    sdk_key.save(update_fields=["key", "rotated_at"])
    audit_record(action="sdk_key.rotated", actor=by, target=sdk_key,
                 target_id=sdk_key.app.app_id, target_label=sdk_key.app.name)
    transaction.on_commit(lambda: forget_sdk_key(old))
    return sdk_key
