"""Settings: the index, REST API keys (create, show once, revoke) and the API reference."""

from __future__ import annotations

import json
import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import permission_required
from config.api.reference import api_reference as reference_sections

from ..mailbox import mailbox_enabled
from ..models import ApiKey, Permission
from ..services.api_keys import api_key_create, api_key_revoke, normalize_networks


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Say where the key is used, e.g. “shop backend”."
    )
    permissions = forms.MultipleChoiceField(
        choices=Permission.choices, widget=forms.CheckboxSelectMultiple,
        help_text="The endpoints this key may call. Keys cannot be changed later: "
                  "create a new one instead.",
    )
    allowed_networks = forms.CharField(
        label="IP allowlist", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. One address or CIDR per line (e.g. 203.0.113.0/24). "
                  "Empty: any address.",
    )

    def clean_allowed_networks(self) -> list[str]:
        raw = self.cleaned_data["allowed_networks"].replace(",", "\n").splitlines()
        try:
            return normalize_networks(raw)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


def _get_api_key(prefix: str) -> ApiKey:
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None:
        raise Http404("No such API key")
    return api_key


@permission_required(None)
def settings_index(request: HttpRequest) -> HttpResponse:
    context = {"nav": "settings", "mailbox": mailbox_enabled()}
    return render(request, "messaging/settings_index.html", context)


@permission_required("messaging.view_apikey", write="messaging.add_apikey")
@require_http_methods(["GET", "POST"])
def api_key_list(request: HttpRequest) -> HttpResponse:
    new_key = None
    created = None
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            created, new_key = api_key_create(
                name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"],
                allowed_networks=form.cleaned_data["allowed_networks"],
                created_by=request.user,
            )
            form = ApiKeyForm()
    else:
        form = ApiKeyForm(initial={"permissions": [Permission.USERS_TRACK,
                                                   Permission.MESSAGES_SEND]})
    context = {
        "nav": "settings",
        "form": form,
        # Shown in this one response only: the key is never stored, so it cannot be
        # shown again (no redirect-after-POST here on purpose).
        "new_key": new_key,
        "created": created,
        "api_keys": ApiKey.objects.select_related("created_by").order_by(
            "revoked_at", "-created_at"),
    }
    response = render(request, "messaging/api_key_list.html", context)
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@permission_required("messaging.change_apikey")
@require_POST
def api_key_revoke_view(request: HttpRequest, prefix: str) -> HttpResponse:
    api_key = api_key_revoke(api_key=_get_api_key(prefix), by=request.user)
    messages.success(request, f"API key “{api_key.name}” revoked: it no longer works.")
    return redirect("messaging:api-key-list")


def _inline_code(text: str) -> str:
    """Docstring text as HTML: escaped, `code` spans kept, line breaks between paragraphs."""
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))
    return mark_safe("".join(f"<p>{para}</p>" for para in html.split("\n\n") if para.strip()))


@permission_required(None)
def api_reference(request: HttpRequest) -> HttpResponse:
    sections = reference_sections()
    tags: dict[str, list[dict]] = {}
    for section in sections:
        tags.setdefault(section["tag"], []).append(section)
    for section in sections:
        section["description_html"] = _inline_code(section["description"])
        section["body_description_html"] = _inline_code(section["body_description"])
        for obj in section["objects"]:
            obj["description_html"] = _inline_code(obj["description"])
        for error in section["errors"]:
            error["example_json"] = json.dumps(error["example"], indent=2)
    return render(request, "messaging/api_reference.html",
                  {"nav": "settings", "tags": tags, "sections": sections})


urlpatterns = [
    path("settings/", settings_index, name="settings"),
    # /settings/api-keys/…
    path("settings/api-keys/", api_key_list, name="api-key-list"),
    path("settings/api-keys/<str:prefix>/revoke/", api_key_revoke_view, name="api-key-revoke"),
    path("settings/api-reference/", api_reference, name="api-reference"),
]
