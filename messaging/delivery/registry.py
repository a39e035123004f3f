"""Builds every channel adapter: the one place that knows which class sends what.

Email and webhooks need no configuration. Push and SMS/MMS go through the provider an
app configured for the channel (a ChannelConfig, credentials decrypted here), or the
sandbox when it has none. Provider adapters keep pooled connections and OAuth tokens, so
they are cached per configuration and rebuilt when it is saved again.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from typing import Any

from django.conf import settings
from django.urls import reverse

from campaigns.models import Channel

from ..channels import adm, apns, fcm, twilio, webpush
from ..channels.base import ChannelAdapter
from ..channels.email import EmailAdapter
from ..channels.sandbox import SandboxAdapter, UnusableAdapter
from ..channels.webhook import WebhookAdapter
from ..crypto import CredentialsUnreadable
from ..models import ChannelConfig, Provider

_adapters: dict[tuple[int, int, str], ChannelAdapter] = {}
_adapters_lock = threading.Lock()


def adapter_for_channel(channel: str) -> ChannelAdapter:
    """The adapter of a channel without providers: email (SMTP) or webhook."""
    if channel == Channel.EMAIL:
        return EmailAdapter()
    if channel == Channel.WEBHOOK:
        return WebhookAdapter()
    raise ValueError(f"channel {channel!r} is sent through an app's provider")


def sandbox_adapter(channel: str) -> ChannelAdapter:
    return SandboxAdapter(channel)


def adapter_for_app(*, channel: str, config: ChannelConfig | None) -> ChannelAdapter:
    """What carries one app's messages on a channel: its provider's adapter, the sandbox
    when it has none, or a stand-in that retries when its configuration is unusable."""
    if config is None or config.is_sandbox:
        return sandbox_adapter(channel)
    try:
        return adapter_for_config(config)
    except (CredentialsUnreadable, ValueError) as exc:
        return UnusableAdapter(config.provider, str(exc))


def _verify() -> ssl.SSLContext | bool:
    # Tests (and private CAs in front of providers) name a CA bundle to trust.
    bundle = getattr(settings, "HERALD_PROVIDER_CA_BUNDLE", "")
    return ssl.create_default_context(cafile=bundle) if bundle else True


def sms_status_callback_url(config: ChannelConfig, message_id: str) -> str:
    path = reverse("messaging:sms-status", args=[config.public_id, message_id])
    return f"{settings.SITE_URL}{path}"


def adapter_build(config: ChannelConfig) -> ChannelAdapter:
    """A new adapter for a stored configuration (decrypts its credentials).

    Raises CredentialsUnreadable (another encryption key) or ValueError (unusable values).
    """
    secrets, options, verify = config.credentials, config.options, _verify()
    try:
        return _adapter_build(config, secrets, options, verify)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unusable {config.provider} configuration: {type(exc).__name__}") from exc


def _adapter_build(
    config: ChannelConfig, secrets: dict[str, Any], options: dict[str, Any], verify: Any
) -> ChannelAdapter:
    if config.provider == Provider.APNS:
        return apns.ApnsAdapter(
            apns.ApnsConfig(
                team_id=options.get("team_id", ""),
                key_id=options.get("key_id", ""),
                topic=options.get("topic", ""),
                private_key=secrets.get("private_key", ""),
                use_sandbox_host=config.use_sandbox_host,
                base_url=config.base_url,
                verify=verify,
            )
        )
    if config.provider == Provider.FCM:
        return fcm.FcmAdapter(
            fcm.FcmConfig(
                service_account=json.loads(secrets.get("service_account_json") or "{}"),
                base_url=config.base_url,
                verify=verify,
            )
        )
    if config.provider == Provider.ADM:
        return adm.AdmAdapter(
            adm.AdmConfig(
                client_id=options.get("client_id", ""),
                client_secret=secrets.get("client_secret", ""),
                base_url=config.base_url,
                verify=verify,
            )
        )
    if config.provider == Provider.WEBPUSH:
        return webpush.WebPushAdapter(
            webpush.WebPushConfig(
                vapid_private_key=secrets["vapid_private_key"],
                subject=options.get("subject") or f"{settings.SITE_URL}/",
                verify=verify,
            )
        )
    if config.provider == Provider.TWILIO:
        return twilio.TwilioAdapter(
            twilio.TwilioConfig(
                account_sid=options.get("account_sid", ""),
                auth_token=secrets.get("auth_token", ""),
                senders=options.get("senders") or {},
                base_url=config.base_url,
                verify=verify,
                status_callback=lambda message_id: sms_status_callback_url(config, message_id),
            )
        )
    raise ValueError(f"no adapter for provider {config.provider!r}")


def adapter_for_config(config: ChannelConfig) -> ChannelAdapter:
    """The cached adapter of a configuration: its pooled connections and tokens live on
    between batches, and a saved change (new updated_at) builds a fresh one.

    Raises CredentialsUnreadable or ValueError when the stored configuration is unusable.
    """
    # TRICKY: the pid is part of the key: a forked worker cannot use its parent's clients,
    # which belong to an event loop that only runs in the parent.
    key = (os.getpid(), config.pk, config.updated_at.isoformat())
    stale: list[ChannelAdapter] = []
    with _adapters_lock:
        adapter = _adapters.get(key)
        if adapter is None:
            for old in [k for k in _adapters if k[1] == config.pk]:
                replaced = _adapters.pop(old)
                if old[0] == key[0]:  # only this process's clients can be closed here
                    stale.append(replaced)
            adapter = _adapters[key] = adapter_build(config)
    for old_adapter in stale:
        close = getattr(old_adapter, "close", None)
        if close is not None:
            close()
    return adapter
