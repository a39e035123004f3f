"""Apps, channel providers and what providers tell us back (token death, SMS status, STOP).

The send API calls `app_exists` (to refuse unknown `app_id`s: UnknownApp); the delivery
code calls `channel_config_get` (which provider carries an app's channel) and
`push_token_invalidate` (for each token an adapter reported dead). Adapters themselves
are built by messaging.delivery.registry.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from analytics.models import EngagementEvent
from analytics.services import engagement_record
from campaigns.models import Channel
from messaging.channels.webpush import generate_vapid_keys, vapid_public_key
from messaging.crypto import decrypt_json, encrypt_json
from messaging.models import (
    App,
    ChannelConfig,
    Delivery,
    Profile,
    Provider,
    PushToken,
    SubscriptionGroup,
)
from messaging.phones import phone_normalize
from messaging.services.delivery_events import delivery_events_record

log = logging.getLogger(__name__)

# Credentials each provider needs (secret: encrypted) and options it shows (plain).
SECRET_FIELDS: dict[str, list[str]] = {
    Provider.APNS: ["private_key"],
    Provider.FCM: ["service_account_json"],
    Provider.ADM: ["client_secret"],
    Provider.WEBPUSH: ["vapid_private_key"],
    Provider.TWILIO: ["auth_token"],
    Provider.SANDBOX: [],
}
OPTION_FIELDS: dict[str, list[str]] = {
    Provider.APNS: ["team_id", "key_id", "topic"],
    Provider.FCM: [],
    Provider.ADM: ["client_id"],
    Provider.WEBPUSH: ["subject"],
    Provider.TWILIO: ["account_sid", "senders"],
    Provider.SANDBOX: [],
}
# Keywords carriers and Twilio treat as an opt-out (CTIA guidelines).
STOP_KEYWORDS = {
    "STOP",
    "STOPALL",
    "STOP ALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "OPT OUT",
    "REVOKE",
}
# SMS delivery statuses (Twilio's MessageStatus) that are final.
SMS_STATUS_KIND = {
    "delivered": EngagementEvent.Kind.DELIVERED,
    "undelivered": EngagementEvent.Kind.FAILED,
    "failed": EngagementEvent.Kind.FAILED,
}


# --- Apps ------------------------------------------------------------------------------


def app_exists(app_id: str) -> bool:
    """Whether `app_id` names an app of this installation (message objects must)."""
    try:
        api_id = uuid.UUID(str(app_id))
    except ValueError:
        return False
    return App.objects.filter(api_id=api_id).exists()


def app_create(*, name: str, platform: str) -> App:
    with transaction.atomic():
        app = App(name=name.strip(), platform=platform)
        app.full_clean()
        app.save()
        return app


# --- Channel configuration ---------------------------------------------------------------


def channel_config_save(
    *,
    app: App,
    channel: str,
    provider: str,
    options: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    base_url: str = "",
    use_sandbox_host: bool = False,
    by: AbstractBaseUser | None = None,
) -> ChannelConfig:
    """Create or update the provider of one app's channel.

    Empty secret values keep what is stored, so a form never has to show a secret back.
    A web push configuration without a VAPID key gets a fresh key pair.
    """
    with transaction.atomic():
        config = ChannelConfig.objects.select_for_update().filter(
            app=app, channel=channel
        ).first() or ChannelConfig(app=app, channel=channel)
        # Stored secrets only follow the same provider at the same address: otherwise whoever
        # edits the base URL could have Herald send the secrets to a server of theirs.
        keep = config.provider == provider and config.base_url == base_url
        stored = decrypt_json(config.credentials_encrypted) if keep else {}
        stored.update({k: v for k, v in (secrets or {}).items() if v})
        merged_options = {k: v for k, v in (options or {}).items() if v not in (None, "")}
        if provider == Provider.WEBPUSH:
            if not stored.get("vapid_private_key"):
                stored["vapid_private_key"], _ = generate_vapid_keys()
            merged_options["vapid_public_key"] = vapid_public_key(stored["vapid_private_key"])
        config.provider = provider
        config.options = merged_options
        config.credentials_encrypted = encrypt_json(stored) if stored else ""
        config.base_url = base_url
        config.use_sandbox_host = use_sandbox_host
        config.full_clean()
        config.save()
        # Which secrets were entered, by name: their values never reach the log.
        audit_record(
            action="provider_credentials.saved", actor=by, target=config,
            target_id=str(config.public_id), target_label=f"{app.name} · {channel}",
            changes={
                "provider": provider, "base_url": base_url,
                "secrets_entered": sorted(k for k, v in (secrets or {}).items() if v),
                "secrets_kept": keep and bool(stored),
            },
        )
        return config


def channel_config_rotate_vapid(
    *, config: ChannelConfig, by: AbstractBaseUser | None = None
) -> ChannelConfig:
    """New VAPID keys. NOTE: browsers subscribed with the old public key must resubscribe."""
    with transaction.atomic():
        stored = config.credentials
        stored["vapid_private_key"], public = generate_vapid_keys()
        config.credentials_encrypted = encrypt_json(stored)
        config.options = {**config.options, "vapid_public_key": public}
        config.save(update_fields=["credentials_encrypted", "options", "updated_at"])
        audit_record(
            action="provider_credentials.rotated", actor=by, target=config,
            target_id=str(config.public_id), changes={"vapid_public_key": public},
        )
        return config


def channel_config_get(*, channel: str, app_id: str) -> ChannelConfig | None:
    try:
        api_id = uuid.UUID(str(app_id))
    except ValueError:
        return None
    return (
        ChannelConfig.objects.select_related("app")
        .filter(channel=channel, app__api_id=api_id)
        .first()
    )


# --- What providers report back ----------------------------------------------------------


def push_token_invalidate(*, app_id: str, token: str) -> int:
    """Mark a push token dead (provider said unregistered / gone); returns rows changed.

    The row stays for history (profile page and admin); it is never sent to again.
    """
    with transaction.atomic():
        return PushToken.objects.filter(
            app_id=app_id, token=token, invalidated_at__isnull=True
        ).update(invalidated_at=timezone.now())


def sms_status_record(
    *,
    config: ChannelConfig,
    message_id: str,
    status: str,
    error_code: str = "",
    provider_sid: str = "",
) -> Delivery | None:
    """A delivery-status callback: final statuses become delivered / failed events."""
    kind = SMS_STATUS_KIND.get(status)
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(message_id=message_id, channel=Channel.SMS, app_id=config.app.app_id)
            .first()
        )
        if delivery is None or kind is None:
            return delivery
        delivery.status = (
            Delivery.Status.DELIVERED
            if kind == EngagementEvent.Kind.DELIVERED
            else Delivery.Status.FAILED
        )
        if error_code:
            delivery.error = f"provider error code {error_code}"
        delivery.save(update_fields=["status", "error", "updated_at"])
        delivery_events_record(
            delivery,
            (kind,),
            {"provider_status": status, "error_code": error_code, "sid": provider_sid},
            # One event per delivery and outcome, however often the provider calls back.
            dedupe_prefix="sms-status:",
        )
        return delivery


def _groups_for_sender(config: ChannelConfig, to_number: str) -> list[str]:
    senders = config.options.get("senders") or {}
    return [group for group, sender in senders.items() if sender == to_number and group != "*"]


def _set_group_state(profile: Profile, group_id: str, state: str) -> None:
    # Stored as /users/track receives it: [{"subscription_group_id", "subscription_state"}].
    groups = profile.standard_extras.get("subscription_groups")
    if isinstance(groups, dict):
        groups[group_id] = state
    else:
        groups = [g for g in (groups or []) if g.get("subscription_group_id") != group_id]
        groups.append({"subscription_group_id": group_id, "subscription_state": state})
    profile.standard_extras["subscription_groups"] = groups


def sms_inbound_record(
    *, config: ChannelConfig, from_number: str, to_number: str, body: str, provider_sid: str = ""
) -> list[Profile]:
    """An inbound SMS. A STOP keyword unsubscribes every profile with that number from the
    subscription groups that send from the number it was sent to; returns those profiles."""
    if " ".join(body.upper().split()) not in STOP_KEYWORDS or not from_number:
        return []
    groups = _groups_for_sender(config, to_number)
    if not groups:
        log.warning("STOP received on a number no subscription group sends from")
        return []
    with transaction.atomic():
        profiles = list(Profile.objects.select_for_update().filter(phone=from_number))
        for profile in profiles:
            for group in groups:
                _set_group_state(profile, group, "unsubscribed")
            profile.save(update_fields=["standard_extras", "updated_at"])
            engagement_record(
                kind=EngagementEvent.Kind.OPT_OUT,
                channel=Channel.SMS,
                dedupe_key=f"sms-stop:{provider_sid or uuid.uuid4().hex}:{profile.pk}",
                profile_id=profile.pk,
                properties={"keyword": body.strip().upper(), "subscription_group_ids": groups},
            )
        return profiles



# --- Subscription groups ----------------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def subscription_group_create(
    *, name: str, channel: str, sender_numbers: list[str] | None = None
) -> SubscriptionGroup:
    """Register a group; an SMS group needs at least one E.164 sender number."""
    numbers = [phone_normalize(n) for n in sender_numbers or [] if n.strip()]
    if channel == SubscriptionGroup.Channel.SMS:
        if not numbers:
            raise ValidationError({"sender_numbers": "an SMS group needs a sender number"})
        bad = [n for n in numbers if not _E164.match(n)]
        if bad:
            raise ValidationError({"sender_numbers": f"not an E.164 number: {bad[0]}"})
    elif numbers:
        raise ValidationError({"sender_numbers": "only SMS groups have sender numbers"})
    with transaction.atomic():
        group = SubscriptionGroup(name=name.strip(), channel=channel,
                                  sender_numbers=list(dict.fromkeys(numbers)))
        group.full_clean()
        group.save()
        return group
