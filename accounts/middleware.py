"""Per request: the address the audit log records, and two-factor enforcement."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from .audit import request_ip_reset, request_ip_set
from .services import two_factor_required

HAS_DEVICE_SESSION_KEY = "herald_has_otp_device"


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_ip_set(request)
        try:
            return self.get_response(request)
        finally:
            request_ip_reset(token)


class TwoFactorMiddleware:
    """A signed-in account with an authenticator must enter a code before anything else;
    when Admins require two-factor, an account without one must set one up first.

    Runs after django_otp's OTPMiddleware (which gives `user.is_verified()`). Only
    dashboard pages are held back: the REST API authenticates by key, not by session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return self.get_response(request)
        open_paths = (
            reverse("accounts:two-factor-verify"),
            reverse("accounts:two-factor-setup"),
            reverse("logout"),
        )
        if request.path in open_paths or request.path.startswith("/static/"):
            return self.get_response(request)
        has_device = request.session.get(HAS_DEVICE_SESSION_KEY)
        if has_device is None:
            has_device = user_has_device(user, confirmed=True)
            request.session[HAS_DEVICE_SESSION_KEY] = has_device
        if has_device:
            return redirect(f"{open_paths[0]}?{urlencode({'next': request.get_full_path()})}")
        if two_factor_required():
            return redirect(open_paths[1])
        return self.get_response(request)
