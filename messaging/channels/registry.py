"""Which adapter delivers a channel's messages."""

from __future__ import annotations

from campaigns.models import Channel

from .base import ChannelAdapter


def push_or_sms_adapter(channel: str, app_id: str) -> ChannelAdapter:
    """The adapter for push and SMS/MMS: the configured provider, else the sandbox."""
    from .sandbox import SandboxAdapter

    return SandboxAdapter(channel)


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
