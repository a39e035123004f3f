"""Settings › Apps › a web app › Try the SDK: its public SDK key, the origins allowed to
use it, the copy-paste snippet, and a live demo of the SDK against this Herald."""

from __future__ import annotations

import time

import jwt
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from accounts.access import permission_required
from accounts.audit import audit_record

from ..models import App, ChannelConfig, Provider, SdkKey
from ..views.apps import _get_app
from . import services
from .assets import MAJOR, VERSION

TEST_TOKEN_SECONDS = 600


def _test_token(external_id: str) -> str:
    return jwt.encode({"sub": external_id, "exp": int(time.time()) + TEST_TOKEN_SECONDS},
                      settings.CONTENT_CARD_JWT_SECRET, algorithm="HS256")


@permission_required("messaging.view_app", write="messaging.change_app")
@require_http_methods(["GET", "POST"])
def app_sdk(request: HttpRequest, app_id: str) -> HttpResponse:
    app = _get_app(app_id)
    sdk_key = SdkKey.objects.filter(app=app).first()
    origins_text = "\n".join(sdk_key.allowed_origins) if sdk_key else ""
    origins_error = ""
    token = ""
    external_id = request.POST.get("external_id", "").strip()
    if request.method == "POST" and app.platform == App.Platform.WEB:
        action = request.POST.get("action")
        if action == "create":
            services.sdk_key_get_or_create(app=app, by=request.user)
            messages.success(request, "SDK key created.")
            return redirect("messaging:app-sdk", app_id=app.app_id)
        if action == "origins" and sdk_key:
            origins_text = request.POST.get("origins", "")
            try:
                origins = services.origins_parse(origins_text)
            except ValueError as exc:
                origins_error = str(exc)
            else:
                services.sdk_key_set_origins(sdk_key=sdk_key, origins=origins, by=request.user)
                messages.success(request, f"{len(origins)} allowed origin(s) saved.")
                return redirect("messaging:app-sdk", app_id=app.app_id)
        if action == "rotate" and sdk_key:
            services.sdk_key_rotate(sdk_key=sdk_key, by=request.user)
            messages.success(request, "New SDK key: ship it in your pages; the old one no "
                                      "longer works.")
            return redirect("messaging:app-sdk", app_id=app.app_id)
        if action == "token" and sdk_key and settings.CONTENT_CARD_JWT_SECRET:
            if external_id and len(external_id) <= 255:
                token = _test_token(external_id)
                audit_record(action="sdk_key.test_token_signed", actor=request.user,
                             target=sdk_key, target_id=app.app_id, target_label=app.name,
                             changes={"external_id": external_id}, request=request)
            else:
                messages.error(request, "Name the external_id of a test user.")
    vapid = ChannelConfig.objects.filter(app=app, channel="web_push",
                                         provider=Provider.WEBPUSH).exists()
    return render(request, "messaging/app_sdk.html", {
        "nav": "settings",
        "app": app,
        "sdk_key": sdk_key,
        "origins_text": origins_text,
        "origins_error": origins_error,
        "token": token,
        "external_id": external_id,
        "tokens_enabled": bool(settings.CONTENT_CARD_JWT_SECRET),
        "token_minutes": TEST_TOKEN_SECONDS // 60,
        "web_push_ready": vapid,
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        "sdk_major": MAJOR,
        "sdk_version": VERSION,
    })


urlpatterns = [
    path("settings/apps/<str:app_id>/sdk/", app_sdk, name="app-sdk"),
]
