"""Webhooks a Twilio-compatible SMS provider calls: delivery status and inbound messages.

Both are signed the Twilio way (X-Twilio-Signature: base64 HMAC-SHA1 of the URL plus
the sorted form parameters, keyed with the account's auth token); anything unsigned or
signed with another token gets a 403 and changes nothing.
Reference: twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..crypto import CredentialsUnreadable
from ..models import ChannelConfig, Provider
from ..services.providers import sms_inbound_record, sms_status_record

log = logging.getLogger(__name__)


def signature_for(url: str, params: dict[str, list[str]], auth_token: str) -> str:
    data = url + "".join(key + value for key in sorted(params) for value in params[key])
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _verified_config(request: HttpRequest, config_id) -> ChannelConfig:
    config = (
        ChannelConfig.objects.select_related("app")
        .filter(public_id=config_id, provider=Provider.TWILIO)
        .first()
    )
    if config is None:
        raise Http404("No such SMS configuration")
    try:
        token = config.credentials.get("auth_token", "")
    except CredentialsUnreadable:
        token = ""
    presented = request.headers.get("X-Twilio-Signature", "")
    params = {key: request.POST.getlist(key) for key in request.POST}
    # The provider signs the URL it was given: our SITE_URL, or the host it reached.
    candidates = {settings.SITE_URL + request.get_full_path(), request.build_absolute_uri()}
    if (
        not token
        or not presented
        or not any(
            hmac.compare_digest(presented, signature_for(url, params, token)) for url in candidates
        )
    ):
        raise PermissionError
    return config


@csrf_exempt  # signed by the provider instead
@require_POST
def sms_status(request: HttpRequest, config_id, message_id: str) -> HttpResponse:
    try:
        config = _verified_config(request, config_id)
    except PermissionError:
        log.warning("SMS status callback with a bad signature refused")
        return HttpResponseForbidden("bad signature")
    sms_status_record(
        config=config,
        message_id=message_id,
        status=request.POST.get("MessageStatus", request.POST.get("SmsStatus", "")),
        error_code=request.POST.get("ErrorCode", ""),
        provider_sid=request.POST.get("MessageSid", ""),
    )
    return HttpResponse(status=204)


@csrf_exempt  # signed by the provider instead
@require_POST
def sms_inbound(request: HttpRequest, config_id) -> HttpResponse:
    try:
        config = _verified_config(request, config_id)
    except PermissionError:
        log.warning("inbound SMS webhook with a bad signature refused")
        return HttpResponseForbidden("bad signature")
    sms_inbound_record(
        config=config,
        from_number=request.POST.get("From", ""),
        to_number=request.POST.get("To", ""),
        body=request.POST.get("Body", ""),
        provider_sid=request.POST.get("MessageSid", ""),
    )
    # An empty TwiML answer: no reply from us (carriers send the STOP confirmation).
    return HttpResponse("<Response/>", content_type="text/xml")


urlpatterns = [
    # /webhooks/sms/<config public id>/…
    path("webhooks/sms/<uuid:config_id>/status/<str:message_id>/", sms_status, name="sms-status"),
    path("webhooks/sms/<uuid:config_id>/inbound/", sms_inbound, name="sms-inbound"),
]
