"""Settings › Team, Settings › Audit log, and two-factor authentication pages."""

from __future__ import annotations

import base64
import csv
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.dashboard import filter_value

from . import selectors, services
from .access import permission_required
from .audit import audit_record
from .middleware import HAS_DEVICE_SESSION_KEY
from .roles import DESCRIPTIONS, ROLES

AUDIT_PAGE_SIZE = 50
TEAM = "auth.change_user"
AUDIT = "accounts.view_auditentry"


# --- Team ---------------------------------------------------------------------------------


@permission_required(TEAM)
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if "require_two_factor" in request.POST:
            services.security_policy_set(
                require_two_factor=request.POST["require_two_factor"] == "1", by=request.user
            )
            messages.success(request, "Two-factor policy saved.")
            return redirect("accounts:team")
        user = get_user_model().objects.filter(username=request.POST.get("username", "")).first()
        role = request.POST.get("role", "")
        if user is None:
            raise Http404("No such account")
        if role and role not in ROLES:
            messages.error(request, "Unknown role.")
            return redirect("accounts:team")
        try:
            services.role_set(user=user, role=role, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{user.get_username()} is now {role or 'without a role'}."
            )
        return redirect("accounts:team")
    rows = [(member, services.role_of(member)) for member in selectors.team_list()]
    context = {
        "nav": "settings",
        "rows": rows,
        "roles": [(role, DESCRIPTIONS[role]) for role in ROLES],
        "require_two_factor": services.two_factor_required(),
    }
    return render(request, "accounts/team.html", context)


# --- Audit log ----------------------------------------------------------------------------


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _audit_filters(request: HttpRequest) -> dict:
    return {
        "action": filter_value(request, "action", label="action filter", max_length=64),
        "actor": filter_value(request, "actor", label="account filter", max_length=150),
        "since": filter_value(request, "since", label="start date", max_length=10),
        "until": filter_value(request, "until", label="end date", max_length=10),
    }


def _audit_entries(filters: dict):  # type: ignore[no-untyped-def]
    return selectors.audit_entry_list(
        action=filters["action"], actor=filters["actor"],
        since=_date(filters["since"]), until=_date(filters["until"]),
    )


@permission_required(AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    filters = _audit_filters(request)
    page_obj = Paginator(_audit_entries(filters), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "nav": "settings",
        "page_obj": page_obj,
        "filters": filters,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "actions": selectors.audit_actions(),
    }
    return render(request, "accounts/audit_log.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: object) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@permission_required(AUDIT)
def audit_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    entries = _audit_entries(_audit_filters(request))
    writer = csv.writer(_Echo())
    header = ["at", "account", "ip", "action", "target_type", "target_id", "target", "changes"]

    def rows():  # type: ignore[no-untyped-def]
        yield writer.writerow(header)
        for entry in entries.iterator(chunk_size=1000):
            yield writer.writerow([_csv_cell(value) for value in (
                entry.at.isoformat(), entry.actor_name, entry.ip, entry.action,
                entry.target_type, entry.target_id, entry.target_label, entry.changes,
            )])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="herald-audit-log.csv"'
    return response


# --- Two-factor -----------------------------------------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app", max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """After the password: the current code of one of the account's authenticators."""
    if request.user.is_verified():
        return redirect(_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.devices_for_user(request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                audit_record(action="login.two_factor", actor=request.user)
                return redirect(_next(request))
        audit_record(action="login.two_factor_failed", actor=request.user)
        form.add_error("token", "That code is not right (or has expired); try the next one.")
    return render(request, "accounts/two_factor_verify.html",
                  {"form": form, "next": _next(request)})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Add a TOTP authenticator: show its secret once, confirm it with a first code."""
    user = request.user
    confirmed = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if request.method == "POST" and "disable" in request.POST:
        if confirmed is not None and services.two_factor_required():
            messages.error(request, "Your Admins require two-factor authentication.")
            return redirect("accounts:two-factor-setup")
        TOTPDevice.objects.devices_for_user(user, confirmed=None).delete()
        request.session[HAS_DEVICE_SESSION_KEY] = False
        audit_record(action="two_factor.disabled", actor=user, target=user)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts:two-factor-setup")
    if confirmed is not None:
        return render(request, "accounts/two_factor_setup.html", {"enabled": True})
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session[HAS_DEVICE_SESSION_KEY] = True
            audit_record(action="two_factor.enabled", actor=user, target=user)
            messages.success(request, "Two-factor authentication is on.")
            return redirect("accounts:two-factor-setup")
        form.add_error("token", "That code is not right; check the clock of your device.")
    context = {
        "enabled": False,
        "form": form,
        "secret": base64.b32encode(device.bin_key).decode(),
        "config_url": device.config_url,
    }
    response = render(request, "accounts/two_factor_setup.html", context)
    response["Cache-Control"] = "no-store"
    return response
