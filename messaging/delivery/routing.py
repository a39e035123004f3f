"""Which adapter sends a batch of deliveries, with everything it needs looked up first.

Email and webhooks have one adapter each; content cards go to the feed. Push and SMS/MMS
go to the sandbox while no provider is saved for the channel at all; otherwise each
address goes through the provider of its app: the tokens' apps are looked up here, one
adapter is built per app (messaging.delivery.registry), and the pure router of
messaging.channels.routing fans the batch out and combines the answers.
"""

from __future__ import annotations

from campaigns.models import PUSH_CHANNELS, Channel

from ..channels.base import ChannelAdapter, Outgoing
from ..channels.routing import ProviderRouter, addresses, token_groups
from ..models import ChannelConfig, Provider
from ..services.providers import channel_config_get
from . import registry
from .feed import FeedWriter
from .push_tokens import token_apps


def providers_configured(channel: str) -> bool:
    """Whether any app has a provider other than the sandbox saved for `channel`."""
    return (
        ChannelConfig.objects.filter(channel=channel).exclude(provider=Provider.SANDBOX).exists()
    )


def adapter_for(channel: str, items: list[Outgoing]) -> ChannelAdapter:
    """The adapter that sends `items`, a batch of one channel's deliveries."""
    if channel == Channel.CONTENT_CARD:
        return FeedWriter()
    if channel in (Channel.EMAIL, Channel.WEBHOOK):
        return registry.adapter_for_channel(channel)
    # No provider saved for the channel at all: the sandbox, without per-token lookups.
    if not providers_configured(channel):
        return registry.sandbox_adapter(channel)
    push = channel in PUSH_CHANNELS
    apps = (
        token_apps(channel=channel, tokens=[t for item in items for t in addresses(item)])
        if push
        else {}
    )
    adapters = {
        app_id: registry.adapter_for_app(
            channel=channel, config=channel_config_get(channel=channel, app_id=app_id)
        )
        for app_id in token_groups(items, apps, push=push)
    }
    return ProviderRouter(channel, push=push, token_apps=apps, adapters=adapters)
