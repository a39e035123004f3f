"""The public tracking URLs of emails: open pixel, click redirect, unsubscribe page.

Each view reads its signed token (messaging.tracking.links); a forged or altered token
gets a bare 404 and records nothing. Opens and clicks are answered after one INSERT (the
token names the message; nothing is looked up) and counted by a worker; a valid link of
a message deleted since still leads to its page, and counts nothing.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from analytics.models import TrackingHit

from ..models import Delivery
from ..services import tracking as tracking_services
from .links import SALT_CLICK, SALT_OPEN, SALT_UNSUBSCRIBE, TRACKABLE, unsign
from .tasks import fold_soon

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _signed(token: str, salt: str) -> tuple[dict, Delivery]:
    payload = unsign(token, salt)
    delivery = tracking_services.tracked_delivery(payload["m"]) if payload else None
    if delivery is None:
        raise Http404
    return payload, delivery


@never_cache
@require_GET
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    payload = unsign(token, SALT_OPEN)
    if payload is None:
        raise Http404
    tracking_services.hit_record(
        kind=TrackingHit.Kind.OPEN, message_id=payload["m"],
        user_agent=request.headers.get("User-Agent", ""))
    fold_soon()
    return HttpResponse(PIXEL_GIF, content_type="image/gif")


@never_cache
@require_GET
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    payload = unsign(token, SALT_CLICK)
    link = payload.get("u") if payload else None
    if not isinstance(link, str) or not TRACKABLE.match(link):
        raise Http404
    tracking_services.hit_record(
        kind=TrackingHit.Kind.CLICK, message_id=payload["m"],
        user_agent=request.headers.get("User-Agent", ""), url=link,
        link_index=payload.get("i"))
    fold_soon()
    return HttpResponseRedirect(link)


@csrf_exempt  # RFC 8058 one-click POSTs come from mail providers, without a CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def track_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    _, delivery = _signed(token, SALT_UNSUBSCRIBE)
    # GET only asks: link scanners follow every link, and must not unsubscribe anyone.
    if request.method == "POST":
        tracking_services.unsubscribe_record(delivery=delivery)
        done = True
    else:
        done = tracking_services.is_unsubscribed(delivery)
    profile = delivery.profile
    return render(request, "analytics/unsubscribe.html",
                  {"done": done, "email": profile.email if profile else ""})
