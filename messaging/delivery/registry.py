"""Builds every channel adapter: the one place that knows which class sends what.

Email and webhooks need no configuration. Push and SMS/MMS go through the provider an
app configured for the channel (a ChannelConfig, credentials decrypted here), or the
sandbox when it has none.

What the adapters share lives here, once per process, and is handed to them (adapters
read no delivery settings themselves):
- ONE `httpx.Client` (`shared_client`, HTTP/1.1) for webhooks and every HTTP provider
  but APNs, and ONE HTTP/2 `httpx.AsyncClient` (`shared_http2_client`) for APNs, which
  speaks HTTP/2 only (messaging.channels.http2 says why two); kept for the process's
  life so connections are pooled and kept alive between batches;
- the limits of DELIVERY_CONCURRENCY (items in flight per batch) and
  DELIVERY_PER_HOST_CONCURRENCY (per webhook / web push host);
- rate limiters from DELIVERY_RATE_LIMITS (`limiter`): booked in Redis when the cache is
  Redis, so they hold across worker processes, else counted per process;
- the email adapter and its pool of SMTP connections (DELIVERY_SMTP_CONNECTIONS).
Provider adapters keep OAuth tokens and signed JWTs, so they are cached per configuration
and rebuilt when it is saved again. The time limit of a batch is the caller's (send.py).
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis
from django.conf import settings
from django.urls import reverse

from campaigns.models import Channel

from ..channels import adm, apns, fcm, http, http2, twilio, webpush
from ..channels.base import ChannelAdapter
from ..channels.email import EmailAdapter
from ..channels.limits import LocalSlots, RateLimiter, RedisSlots, Slots
from ..channels.sandbox import SandboxAdapter, UnusableAdapter
from ..channels.webhook import WebhookAdapter
from ..crypto import CredentialsUnreadable
from ..models import ChannelConfig, Provider

_adapters: dict[tuple[Any, ...], ChannelAdapter] = {}
_adapters_lock = threading.Lock()
# Process-wide singletons, each with the key it was built for: (key, object).
_shared: dict[str, tuple[Any, Any]] = {}
_shared_lock = threading.RLock()  # builders may call other singletons


def _singleton(name: str, key: tuple[Any, ...], build: Any, close: Any = None) -> Any:
    """The process's `name` object built for `key`, built anew when the key changes (a
    forked worker: the pid is in every key; tests that change settings).

    TRICKY: a forked worker must not use its parent's client: their pooled connections
    are the same sockets, which two processes would write to at once; nor close it.
    """
    key = (os.getpid(), *key)
    with _shared_lock:
        current = _shared.get(name)
        if current is not None and current[0] == key:
            return current[1]
        value = build()
        _shared[name] = (key, value)
    if current is not None and close is not None and current[0][0] == key[0]:
        close(current[1])
    return value


def concurrency() -> int:
    return max(1, int(getattr(settings, "DELIVERY_CONCURRENCY", 32)))


def per_host_concurrency() -> int:
    return max(1, int(getattr(settings, "DELIVERY_PER_HOST_CONCURRENCY", 8)))


def _verify() -> ssl.SSLContext | bool:
    # Tests (and private CAs in front of providers) name a CA bundle to trust, on top of
    # the system's: the client is shared with webhooks, which go to public hosts.
    bundle = getattr(settings, "HERALD_PROVIDER_CA_BUNDLE", "")
    if not bundle:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=bundle)
    return context


def _client_key() -> tuple[Any, ...]:
    return (getattr(settings, "HERALD_PROVIDER_CA_BUNDLE", ""), concurrency())


def shared_client() -> httpx.Client:
    """The process's one HTTP client (messaging.channels.http.build_client)."""
    return _singleton(
        "client",
        _client_key(),
        lambda: http.build_client(verify=_verify(), max_connections=max(64, 4 * concurrency())),
        http.close_client,
    )


def shared_http2_client() -> httpx.AsyncClient:
    """The process's HTTP/2 client, for APNs (messaging.channels.http2.build_client)."""
    return _singleton(
        "http2-client",
        _client_key(),
        lambda: http2.build_client(verify=_verify()),
        http2.close_client,
    )


def _slots() -> Slots:
    """Where rate-limit slots are booked: Redis when the cache is Redis, else here."""
    cache = settings.CACHES.get("default", {})
    location = cache.get("LOCATION") if "redis" in cache.get("BACKEND", "").lower() else None
    if isinstance(location, (list, tuple)):
        location = location[0] if location else None
    if not location:
        return _singleton("slots", ("local",), LocalSlots)
    return _singleton(
        "slots", ("redis", location), lambda: RedisSlots(redis.Redis.from_url(location))
    )


def limiter(kind: str, key: str) -> RateLimiter | None:
    """The rate limiter of DELIVERY_RATE_LIMITS[kind] (messages per second) for one relay,
    account or app, named by `key`; None when that kind is unlimited (0 or absent)."""
    rate = float((getattr(settings, "DELIVERY_RATE_LIMITS", {}) or {}).get(kind) or 0)
    if rate <= 0:
        return None
    return RateLimiter(rate, f"{kind}:{key}", _slots())


def _message_id_domain() -> str:
    return (
        getattr(settings, "DELIVERY_EMAIL_MESSAGE_ID_DOMAIN", "")
        or urlsplit(settings.SITE_URL).hostname
        or "localhost"
    )


def email_adapter() -> EmailAdapter:
    """The process's email adapter: its SMTP connections are reused between batches."""
    smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    relay = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    # Console and locmem backends write to one stream or list: one sender is enough.
    pool_size = int(getattr(settings, "DELIVERY_SMTP_CONNECTIONS", 4)) if smtp else 1
    rates = getattr(settings, "DELIVERY_RATE_LIMITS", {}) or {}
    key = (
        settings.EMAIL_BACKEND,
        relay,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
        settings.EMAIL_TIMEOUT,
        pool_size,
        _message_id_domain(),
        rates.get("smtp"),
    )
    return _singleton(
        "email",
        key,
        lambda: EmailAdapter(
            pool_size=pool_size,
            message_id_domain=_message_id_domain(),
            limiter=limiter("smtp", relay),
            cap=2.0 * float(settings.EMAIL_TIMEOUT or 30),
        ),
        EmailAdapter.close,
    )


def webhook_adapter() -> WebhookAdapter:
    timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    return _singleton(
        "webhook",
        (*_client_key(), timeout, per_host_concurrency()),
        lambda: WebhookAdapter(
            shared_client(),
            timeout=timeout,
            concurrency=concurrency(),
            per_host=per_host_concurrency(),
        ),
    )


def adapter_for_channel(channel: str) -> ChannelAdapter:
    """The adapter of a channel without providers: email (SMTP) or webhook."""
    if channel == Channel.EMAIL:
        return email_adapter()
    if channel == Channel.WEBHOOK:
        return webhook_adapter()
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


def sms_status_callback_url(config: ChannelConfig, message_id: str) -> str:
    path = reverse("messaging:sms-status", args=[config.public_id, message_id])
    return f"{settings.SITE_URL}{path}"


def adapter_build(config: ChannelConfig) -> ChannelAdapter:
    """A new adapter for a stored configuration (decrypts its credentials).

    Raises CredentialsUnreadable (another encryption key) or ValueError (unusable values).
    """
    secrets, options = config.credentials, config.options
    try:
        return _adapter_build(config, secrets, options)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unusable {config.provider} configuration: {type(exc).__name__}") from exc


def _adapter_build(
    config: ChannelConfig, secrets: dict[str, Any], options: dict[str, Any]
) -> ChannelAdapter:
    # Rate limits are per push app (this configuration) and per Twilio account.
    account = options.get("account_sid", "")
    shared = {
        "client": shared_client(),
        "limiter": limiter(
            config.provider,
            f"account:{account}" if config.provider == Provider.TWILIO else f"config:{config.pk}",
        ),
    }
    if config.provider == Provider.APNS:
        shared["client"] = shared_http2_client()
        return apns.ApnsAdapter(
            apns.ApnsConfig(
                team_id=options.get("team_id", ""),
                key_id=options.get("key_id", ""),
                topic=options.get("topic", ""),
                private_key=secrets.get("private_key", ""),
                use_sandbox_host=config.use_sandbox_host,
                base_url=config.base_url,
                concurrency=concurrency(),
            ),
            **shared,
        )
    if config.provider == Provider.FCM:
        return fcm.FcmAdapter(
            fcm.FcmConfig(
                service_account=json.loads(secrets.get("service_account_json") or "{}"),
                base_url=config.base_url,
                concurrency=concurrency(),
            ),
            **shared,
        )
    if config.provider == Provider.ADM:
        return adm.AdmAdapter(
            adm.AdmConfig(
                client_id=options.get("client_id", ""),
                client_secret=secrets.get("client_secret", ""),
                base_url=config.base_url,
                concurrency=concurrency(),
            ),
            **shared,
        )
    if config.provider == Provider.WEBPUSH:
        return webpush.WebPushAdapter(
            webpush.WebPushConfig(
                vapid_private_key=secrets["vapid_private_key"],
                subject=options.get("subject") or f"{settings.SITE_URL}/",
                concurrency=concurrency(),
                per_host_concurrency=per_host_concurrency(),
            ),
            **shared,
        )
    if config.provider == Provider.TWILIO:
        return twilio.TwilioAdapter(
            twilio.TwilioConfig(
                account_sid=account,
                auth_token=secrets.get("auth_token", ""),
                senders=options.get("senders") or {},
                base_url=config.base_url,
                status_callback=lambda message_id: sms_status_callback_url(config, message_id),
                concurrency=concurrency(),
            ),
            **shared,
        )
    raise ValueError(f"no adapter for provider {config.provider!r}")


def adapter_for_config(config: ChannelConfig) -> ChannelAdapter:
    """The cached adapter of a configuration: its tokens live on between batches, and a
    saved change (new updated_at) builds a fresh one.

    Raises CredentialsUnreadable or ValueError when the stored configuration is unusable.
    """
    # TRICKY: the pid is part of the key: a forked worker must not use its parent's client
    # (the same sockets). So is what the adapter was built with (the shared client's key,
    # the limits), should settings change.
    key = (
        os.getpid(),
        config.pk,
        config.updated_at.isoformat(),
        *_client_key(),
        per_host_concurrency(),
        repr(getattr(settings, "DELIVERY_RATE_LIMITS", {})),
    )
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
