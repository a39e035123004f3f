"""The test message of Settings → Channels: one send straight to an app's provider.

No dispatch and no delivery row: the marketer sees the provider's answer at once. The
adapter comes from the same registry as real sends, and a push token the provider
reports dead is invalidated as after a real send.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from campaigns.models import Channel

from ..channels.base import Outcome, Outgoing, Result
from ..crypto import CredentialsUnreadable
from ..models import ChannelConfig, Profile, PushToken
from ..services.providers import push_token_invalidate
from . import registry


@dataclass
class ChannelTestResult:
    """What the test send shows: an error in words, or the provider's outcome."""

    error: str = ""
    outcome: Outcome | None = None
    ok: bool = False
    provider: str = ""
    profile: Profile | None = None


def _test_payload(channel: str, config: ChannelConfig) -> dict[str, Any]:
    text = "This is a test from Herald's Settings → Channels."
    if channel == Channel.APPLE_PUSH:
        return {"alert": {"title": "Herald test", "body": text}, "sound": "default"}
    if channel == Channel.SMS:
        senders = config.options.get("senders") or {}
        return {
            "body": text,
            "subscription_group_id": next(iter(senders), ""),
            "app_id": config.app.app_id,
        }
    return {"title": "Herald test", "alert": text}


def _test_profile(identifier: str) -> Profile | None:
    identifier = identifier.strip()
    return (
        Profile.objects.filter(external_id=identifier).first()
        or Profile.objects.filter(braze_id=identifier).first()
    )


def _test_address(config: ChannelConfig, profile: Profile) -> str:
    """The profile's phone number, or its most recent live push token of the config's app."""
    if config.channel == Channel.SMS:
        return profile.phone
    token = (
        PushToken.objects.filter(
            profile=profile, app_id=config.app.app_id, invalidated_at__isnull=True
        )
        .order_by("-created_at")
        .first()
    )
    return token.token if token else ""


def channel_config_test(*, config: ChannelConfig, profile_ref: str) -> ChannelTestResult:
    """Send one test message through `config` to a profile named by external_id or braze_id.

    Goes straight to the provider, without a dispatch or a delivery row; a push token the
    provider reports dead is invalidated as after a real send.
    """
    channel = config.channel
    profile = _test_profile(profile_ref)
    if profile is None:
        return ChannelTestResult(error="No profile with that external_id or braze_id.")
    address = _test_address(config, profile)
    if not address:
        wanted = "phone number" if channel == Channel.SMS else "push token for this app"
        return ChannelTestResult(error=f"{profile} has no {wanted}.", profile=profile)
    try:
        adapter = (
            registry.sandbox_adapter(channel)
            if config.is_sandbox
            else registry.adapter_for_config(config)
        )
    except (CredentialsUnreadable, ValueError) as exc:
        return ChannelTestResult(
            error=f"The saved configuration cannot be used ({exc}). Save it again.",
            profile=profile,
        )
    [outcome] = adapter.send_batch(
        [
            Outgoing(
                message_id=uuid.uuid4().hex,
                address=address,
                payload=_test_payload(channel, config),
                app_id=config.app.app_id,
            )
        ]
    )
    if outcome.invalidate_address and channel != Channel.SMS:
        push_token_invalidate(app_id=config.app.app_id, token=address)
    return ChannelTestResult(
        outcome=outcome,
        ok=outcome.result == Result.DELIVERED,
        provider=adapter.name,
        profile=profile,
    )
