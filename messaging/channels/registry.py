"""Which adapter delivers a channel's messages."""

from __future__ import annotations

from campaigns.models import Channel

from .base import ChannelAdapter


def push_or_sms_adapter(channel: str, app_id: str) -> ChannelAdapter:
    """The adapter for push and SMS/MMS: the configured provider, else the sandbox."""
    from messaging.models import ChannelConfig, Provider

    from .routing import ProviderRouter
    from .sandbox import SandboxAdapter

    # No provider saved for the channel at all: the sandbox, without per-token lookups.
    configured = ChannelConfig.objects.filter(channel=channel).exclude(provider=Provider.SANDBOX)
    if not configured.exists():
        return SandboxAdapter(channel)
    # Each token (or the message's app_id) picks its app's provider; see routing.py.
    return ProviderRouter(channel)


def adapter_for(channel: str, app_id: str = "") -> ChannelAdapter:
    if channel == Channel.EMAIL:
        from .email import EmailAdapter

        return EmailAdapter()
    if channel == Channel.WEBHOOK:
        from .webhook import WebhookAdapter

        return WebhookAdapter()
    if channel == Channel.CONTENT_CARD:
        from .content_card import ContentCardAdapter

        return ContentCardAdapter()
    return push_or_sms_adapter(channel, app_id)
