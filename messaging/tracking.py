"""Tracking links in emails: open pixel, click redirects, unsubscribe.

Every URL carries a token signed with `django.core.signing` (salted per purpose) that
names the delivery's `message_id`; a click token also carries the link's index and the
link itself. Only `instrument_email` signs click tokens, from the links of the message
it is given, so `/t/c/…` can only ever send a reader to a link that was in their
message: there is no open redirect. A forged or altered token gets a bare 404 and
records nothing.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from analytics.models import EngagementEvent
from analytics.services import engagement_record

from .models import Delivery, SubscriptionState
from .services.profiles import profile_email_unsubscribe

SALT_OPEN = "herald.tracking.open"
SALT_CLICK = "herald.tracking.click"
SALT_UNSUBSCRIBE = "herald.tracking.unsubscribe"

# Opens this soon after sending are scanners or prefetchers, not people.
MACHINE_OPEN_DELAY = timedelta(seconds=5)
# Privacy proxies and security scanners fetch every image without a person reading.
# Apple Mail Privacy Protection presents a bare "Mozilla/5.0"; Google's image proxy
# ("GoogleImageProxy") fetches when a person opens, so it still counts as human.
_MACHINE_AGENTS = re.compile(
    r"(bot\b|crawler|spider|barracuda|mimecast|proofpoint|symantec|messagelabs|"
    r"microsoft office protection|safelinks|yahoomailproxy|preview)", re.IGNORECASE)
_BARE_MOZILLA = re.compile(r"^\s*Mozilla/5\.0\s*$")

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

_LINK = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_TRACKABLE = re.compile(r"^https?://", re.IGNORECASE)


def _url(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(f"messaging:{name}", args=[token])


def _sign(payload: dict[str, Any], salt: str) -> str:
    return signing.dumps(payload, salt=salt, compress=True)


def _unsign(token: str, salt: str) -> dict[str, Any]:
    try:
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature:
        raise Http404 from None
    if not isinstance(payload, dict) or not isinstance(payload.get("m"), str):
        raise Http404
    return payload


def open_url(message_id: str) -> str:
    return _url("track-open", _sign({"m": message_id}, SALT_OPEN))


def click_url(message_id: str, index: int, link: str) -> str:
    return _url("track-click", _sign({"m": message_id, "i": index, "u": link}, SALT_CLICK))


def unsubscribe_url(message_id: str) -> str:
    return _url("track-unsubscribe", _sign({"m": message_id}, SALT_UNSUBSCRIBE))


def instrument_email(html: str, *, message_id: str) -> str:
    """Return the email HTML with tracked links, an unsubscribe link and an open pixel."""
    unsubscribe = unsubscribe_url(message_id)
    index = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal index
        link = html_lib.unescape(match.group(3)).strip()
        if not _TRACKABLE.match(link):
            return match.group(0)  # mailto:, tel:, anchors and Liquid leftovers stay as-is
        tracked = click_url(message_id, index, link)
        index += 1
        return f"{match.group(1)}{match.group(2)}{html_lib.escape(tracked)}{match.group(2)}"

    body = _LINK.sub(rewrite, html)
    extra = (
        f'<p style="font-size:12px;color:#667085">'
        f'<a href="{html_lib.escape(unsubscribe)}">Unsubscribe</a></p>'
        f'<img src="{html_lib.escape(open_url(message_id))}" width="1" height="1" alt="" '
        f'style="display:block;border:0;width:1px;height:1px">'
    )
    closing = re.search(r"</body\s*>", body, re.IGNORECASE)
    if closing:
        return body[:closing.start()] + extra + body[closing.start():]
    return body + extra


def unsubscribe_headers(*, message_id: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: one-click unsubscribe from the mail client."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(message_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _delivery(message_id: str) -> Delivery:
    delivery = (Delivery.objects.select_related("profile")
                .filter(message_id=message_id).first())
    if delivery is None:
        raise Http404
    return delivery


def _record(delivery: Delivery, kind: str, dedupe_key: str, **properties: Any) -> None:
    engagement_record(
        kind=kind, channel=delivery.channel, dedupe_key=dedupe_key,
        campaign_id=delivery.campaign_id, variation_id=delivery.variation_id,
        send_id=delivery.send_id, dispatch_id=delivery.dispatch_id, delivery_id=delivery.pk,
        profile_id=delivery.profile_id, occurred_at=timezone.now(), properties=properties,
    )


def is_machine_open(delivery: Delivery, user_agent: str) -> bool:
    if _MACHINE_AGENTS.search(user_agent) or _BARE_MOZILLA.match(user_agent):
        return True
    return delivery.sent_at is not None and timezone.now() - delivery.sent_at < MACHINE_OPEN_DELAY


@never_cache
@require_GET
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    payload = _unsign(token, SALT_OPEN)
    delivery = _delivery(payload["m"])
    profile = delivery.profile
    if profile is None or not profile.email_open_tracking_disabled:
        user_agent = request.headers.get("User-Agent", "")[:300]
        kind = (EngagementEvent.Kind.MACHINE_OPEN if is_machine_open(delivery, user_agent)
                else EngagementEvent.Kind.OPEN)
        # Every fetch is an open (total opens); uniqueness is counted by the rollups.
        _record(delivery, kind, f"{delivery.message_id}:open:{uuid.uuid4().hex}",
                user_agent=user_agent)
    return HttpResponse(PIXEL_GIF, content_type="image/gif")


@never_cache
@require_GET
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    payload = _unsign(token, SALT_CLICK)
    link = payload.get("u")
    if not isinstance(link, str) or not _TRACKABLE.match(link):
        raise Http404
    delivery = _delivery(payload["m"])
    profile = delivery.profile
    if profile is None or not profile.email_click_tracking_disabled:
        _record(delivery, EngagementEvent.Kind.CLICK,
                f"{delivery.message_id}:click:{uuid.uuid4().hex}",
                link_index=payload.get("i"), url=link[:500])
    return HttpResponseRedirect(link)


@csrf_exempt  # RFC 8058 one-click POSTs come from mail providers, without a CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def track_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    payload = _unsign(token, SALT_UNSUBSCRIBE)
    delivery = _delivery(payload["m"])
    profile = delivery.profile
    # GET only asks: link scanners follow every link, and must not unsubscribe anyone.
    if request.method == "POST":
        with transaction.atomic():
            if profile is not None and profile.email_subscribe != SubscriptionState.UNSUBSCRIBED:
                # Also remembered by address, so GET /email/unsubscribes lists it.
                profile_email_unsubscribe(profile=profile)
            _record(delivery, EngagementEvent.Kind.UNSUBSCRIBE,
                    f"{delivery.message_id}:unsubscribe")
        done = True
    else:
        done = profile is not None and profile.email_subscribe == SubscriptionState.UNSUBSCRIBED
    return render(request, "analytics/unsubscribe.html",
                  {"done": done, "email": profile.email if profile else ""})


urlpatterns = [
    # /t/… — public, signed, short: these URLs appear in every email.
    path("t/o/<str:token>", track_open, name="track-open"),
    path("t/c/<str:token>", track_click, name="track-click"),
    path("t/u/<str:token>", track_unsubscribe, name="track-unsubscribe"),
]
