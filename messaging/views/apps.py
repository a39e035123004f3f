"""Settings → Apps (the installation's apps and their app_id) and Settings → Channels
(per app and channel: provider, encrypted credentials, a "send test" button)."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import permission_required
from campaigns.models import PUSH_PLATFORMS, Channel

from ..crypto import CredentialsUnreadable, mask
from ..delivery.channel_test import ChannelTestResult, channel_config_test
from ..models import App, ChannelConfig, Provider
from ..models.providers import PROVIDERS_BY_CHANNEL
from ..services.providers import (
    OPTION_FIELDS,
    SECRET_FIELDS,
    app_create,
    channel_config_rotate_vapid,
    channel_config_save,
)
from .provider_forms import AppForm, ChannelConfigForm, TestSendForm

PROVIDER_CHANNELS = list(PROVIDERS_BY_CHANNEL)
SECRET_LABELS = {
    "private_key": "Signing key (.p8)",
    "service_account_json": "Service account key",
    "client_secret": "Client secret",
    "vapid_private_key": "VAPID private key",
    "auth_token": "Auth token",
}


def _get_app(app_id: str) -> App:
    try:
        api_id = uuid.UUID(app_id)
    except ValueError:
        raise Http404("No such app") from None
    app = App.objects.filter(api_id=api_id).first()
    if app is None:
        raise Http404("No such app")
    return app


def _get_channel(channel: str) -> str:
    if channel not in PROVIDERS_BY_CHANNEL:
        raise Http404("Not a push or SMS channel")
    return channel


def credential_summary(config: ChannelConfig) -> list[tuple[str, str]]:
    """What the dashboard shows of stored secrets: a label and a masked tail, never more."""
    try:
        secrets = config.credentials
    except CredentialsUnreadable:
        return [("Credentials", "unreadable: encrypted with another HERALD_ENCRYPTION_KEY")]
    shown = []
    for name, value in secrets.items():
        if name == "service_account_json":
            try:
                account = json.loads(value)
                shown.append(
                    (
                        SECRET_LABELS[name],
                        f"{account.get('client_email', '?')} · "
                        f"key {mask(account.get('private_key_id', ''))}",
                    )
                )
                continue
            except ValueError:
                pass
        shown.append((SECRET_LABELS.get(name, name), mask(str(value))))
    return shown


@permission_required("messaging.view_app", write="messaging.add_app")
@require_http_methods(["GET", "POST"])
def app_list(request: HttpRequest) -> HttpResponse:
    form = AppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = app_create(name=form.cleaned_data["name"], platform=form.cleaned_data["platform"])
        messages.success(request, f"App “{app.name}” created. Its app_id is {app.app_id}.")
        return redirect("messaging:app-list")
    apps = App.objects.prefetch_related(
        Prefetch("channel_configs", queryset=ChannelConfig.objects.order_by("channel"))
    )
    return render(
        request,
        "messaging/app_list.html",
        {
            "nav": "settings",
            "apps": apps,
            "form": form,
        },
    )


@permission_required("messaging.view_channelconfig")
def channel_list(request: HttpRequest) -> HttpResponse:
    apps = list(App.objects.prefetch_related("channel_configs"))
    rows = []
    for app in apps:
        configured = {config.channel: config for config in app.channel_configs.all()}
        for channel in PROVIDER_CHANNELS:
            # Show a channel for the app's own platform, or where something is configured
            # (the form still allows any app).
            if (
                channel in configured
                or PUSH_PLATFORMS.get(channel) == app.platform
                or (channel == Channel.SMS and app.platform != App.Platform.EMAIL)
            ):
                config = configured.get(channel)
                rows.append(
                    {
                        "app": app,
                        "channel": channel,
                        "channel_label": Channel(channel).label,
                        "config": config,
                        "secrets": credential_summary(config) if config else [],
                    }
                )
    return render(
        request,
        "messaging/channel_list.html",
        {
            "nav": "settings",
            "rows": rows,
            "has_apps": bool(apps),
        },
    )


def _form_initial(config: ChannelConfig | None, provider: str) -> dict:
    if config is None:
        return {"provider": provider}
    initial = {
        "provider": provider,
        "base_url": config.base_url,
        "use_sandbox_host": config.use_sandbox_host,
        **config.options,
    }
    if isinstance(initial.get("senders"), dict):
        initial["senders"] = "\n".join(f"{g} = {s}" for g, s in initial["senders"].items())
    return initial


# Error reports (and the debug page) must not carry the pasted secrets.
@sensitive_post_parameters(*{name for names in SECRET_FIELDS.values() for name in names})
@permission_required("messaging.view_channelconfig", write="messaging.change_channelconfig")
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, app_id: str, channel: str) -> HttpResponse:
    app, channel = _get_app(app_id), _get_channel(channel)
    config = ChannelConfig.objects.filter(app=app, channel=channel).first()
    # Without a saved config this app's messages on the channel go to the sandbox (see
    # messaging/delivery/routing.py), so the form starts there instead of suggesting a provider.
    default_provider = config.provider if config else Provider.SANDBOX.value
    provider = request.POST.get("provider") or request.GET.get("provider") or default_provider
    if provider not in PROVIDERS_BY_CHANNEL[channel]:
        provider = default_provider
    stored = set()
    base_url = request.POST.get("base_url", "").strip() if request.method == "POST" else None
    # A new base URL needs the secrets typed again (channel_config_save drops the stored ones).
    if config and config.provider == provider and base_url in (None, config.base_url):
        try:
            stored = set(config.credentials)
        except CredentialsUnreadable:
            stored = set()
    if request.method == "POST":
        form = ChannelConfigForm(request.POST, channel=channel, stored_secrets=stored)
        if form.is_valid():
            config = channel_config_save(
                app=app,
                channel=channel,
                provider=form.cleaned_data["provider"],
                options=form.options(),
                secrets=form.secrets(),
                base_url=form.cleaned_data.get("base_url") or "",
                use_sandbox_host=bool(form.cleaned_data.get("use_sandbox_host")),
                by=request.user,
            )
            messages.success(
                request,
                f"{Channel(channel).label} for {app.name} now uses "
                f"{Provider(config.provider).label}.",
            )
            return redirect("messaging:channel-edit", app_id=app.app_id, channel=channel)
    else:
        form = ChannelConfigForm(
            initial=_form_initial(config, provider), channel=channel, stored_secrets=stored
        )
    template = "messaging/channel_form.html"
    if request.htmx and request.method == "GET":
        template += "#provider-fields"  # the provider select swapped the fields
    return render(
        request,
        template,
        {
            "nav": "settings",
            "app": app,
            "channel": channel,
            "channel_label": Channel(channel).label,
            "config": config,
            "form": form,
            "provider": provider,
            "active_provider": Provider(config.provider if config else Provider.SANDBOX),
            "option_fields": OPTION_FIELDS.get(provider, []),
            "stored": stored,
            "secrets": credential_summary(config) if config else [],
            "test_form": TestSendForm(),
            # Providers sign and call back the public address (SITE_URL), not the one in use here.
            "site_url": settings.SITE_URL,
        },
    )


@permission_required("messaging.change_channelconfig")
@require_POST
def channel_test(request: HttpRequest, app_id: str, channel: str) -> HttpResponse:
    """Send one test message to a chosen profile and show the provider's answer."""
    app, channel = _get_app(app_id), _get_channel(channel)
    config = ChannelConfig.objects.filter(app=app, channel=channel).first()
    form = TestSendForm(request.POST)
    if config is None:
        result = ChannelTestResult(error="Save a provider for this channel first.")
    elif form.is_valid():
        result = channel_config_test(config=config, profile_ref=form.cleaned_data["profile"])
    else:
        result = ChannelTestResult(error="Name a profile.")
    template = (
        "messaging/channel_form.html#test-result"
        if request.htmx
        else "messaging/channel_test_result.html"
    )
    return render(
        request,
        template,
        {
            "nav": "settings",
            "app": app,
            "channel": channel,
            "channel_label": Channel(channel).label,
            "result": result,
        },
    )


@permission_required("messaging.change_channelconfig")
@require_POST
def channel_vapid_rotate(request: HttpRequest, app_id: str) -> HttpResponse:
    app = _get_app(app_id)
    config = ChannelConfig.objects.filter(
        app=app, channel=Channel.WEB_PUSH, provider=Provider.WEBPUSH
    ).first()
    if config is None:
        raise Http404("No web push provider for this app")
    channel_config_rotate_vapid(config=config, by=request.user)
    messages.success(
        request, "New VAPID keys generated. Browsers must subscribe again with the new public key."
    )
    return redirect(reverse("messaging:channel-edit", args=[app.app_id, Channel.WEB_PUSH]))


urlpatterns = [
    path("settings/apps/", app_list, name="app-list"),
    path("settings/channels/", channel_list, name="channel-list"),
    # /settings/channels/<app_id>/<channel>/…
    path("settings/channels/<str:app_id>/<str:channel>/", channel_edit, name="channel-edit"),
    path("settings/channels/<str:app_id>/<str:channel>/test/", channel_test, name="channel-test"),
    path(
        "settings/channels/<str:app_id>/web_push/vapid/",
        channel_vapid_rotate,
        name="channel-vapid-rotate",
    ),
]
