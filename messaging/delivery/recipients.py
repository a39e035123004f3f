"""Who a profile is to a message: what Liquid sees of it, and its address on a channel.

A profile without a usable address (no email, unsubscribed, no push token of the right
app, STOP texted to the group's number) gets a *skipped* row with the reason, never a
failed one: nothing went wrong, there was nobody to send to.
"""

from __future__ import annotations

from typing import Any

from campaigns.models import PUSH_CHANNELS, Campaign, Channel, MessageVariation

from .. import liquid
from ..models import Dispatch, Profile, SubscriptionState
from .push_tokens import UsableTokens


def subscribed(state: str, rule: str) -> bool:
    """Whether a subscription state passes the dispatch's `recipient_subscription_state`."""
    if rule == "all":
        return True
    if rule == "opted_in":
        return state == SubscriptionState.OPTED_IN
    return state in (SubscriptionState.SUBSCRIBED, SubscriptionState.OPTED_IN)


def subscription_groups(profile: Profile) -> dict[str, str]:
    """group id → state. /users/track and /subscription/status/set store a dict; the SMS
    STOP webhook appends to a list of {"subscription_group_id", "subscription_state"} when
    the profile had no groups yet. Both are read; in a list the last entry of a group wins."""
    stored = (profile.standard_extras or {}).get("subscription_groups")
    if isinstance(stored, dict):
        return {str(k): str(v) for k, v in stored.items()}
    groups: dict[str, str] = {}
    for entry in stored if isinstance(stored, list) else []:
        if isinstance(entry, dict) and entry.get("subscription_group_id"):
            groups[str(entry["subscription_group_id"])] = str(entry.get("subscription_state"))
    return groups


def trigger_properties(profile: Profile, *, dispatch: Dispatch) -> dict[str, Any]:
    audience = dispatch.audience or {}
    own = (audience.get("recipient_trigger_properties") or {}).get(str(profile.pk)) or {}
    return {**(audience.get("trigger_properties") or {}), **own}


def profile_context(
    profile: Profile, *, dispatch: Dispatch, variation: MessageVariation | None
) -> dict[str, Any]:
    """What Liquid sees for one recipient (spec §6)."""
    standard: dict[str, Any] = dict(profile.standard_extras or {})
    standard.update(
        {
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "email_address": profile.email,
            "phone_number": profile.phone,
            "user_id": profile.external_id or "",
            "braze_id": profile.braze_id,
            "city": profile.home_city,
            "country": profile.country,
            "language": profile.language,
            "time_zone": profile.time_zone,
            "gender": profile.gender,
            "date_of_birth": profile.dob.isoformat() if profile.dob else "",
            "random_bucket_number": profile.random_bucket,
        }
    )
    campaign: Campaign | None = dispatch.campaign
    return {
        liquid.STANDARD: standard,
        "custom_attribute": profile.custom_attributes or {},
        "campaign": {
            "api_id": campaign.campaign_id if campaign else "",
            "name": campaign.name if campaign else "",
            "dispatch_id": dispatch.dispatch_id,
            "send_id": dispatch.send_id,
            "message_name": variation.name if variation else "",
            "message_api_id": variation.message_variation_id if variation else "",
        },
        # {{api_trigger_properties.${name}}}: an API-triggered send's data, the request's
        # overridden by the recipient's own (spec §3.3); empty for other sends.
        "api_trigger_properties": trigger_properties(profile, dispatch=dispatch),
        # {{subscribed_state.${email_global}}} and {{subscribed_state.${<group id>}}} (spec §6).
        "subscribed_state": {
            **subscription_groups(profile),
            "email_global": profile.email_subscribe,
        },
    }


def recipient_address(
    profile: Profile,
    *,
    channel: str,
    message: dict[str, Any],
    rule: str,
    tokens: UsableTokens | None,
    rendered: dict[str, Any],
) -> tuple[str, str]:
    """(address, reason to skip) for one profile on one channel.

    `rule` is the dispatch's `recipient_subscription_state`; `tokens` the push tokens the
    channel may use (push channels only); `rendered` the message rendered for the profile.
    """
    if channel == Channel.EMAIL:
        if not profile.email:
            return "", "no email address"
        if not subscribed(profile.email_subscribe, rule):
            return "", f"email {profile.email_subscribe}"
        return profile.email, ""
    if channel in PUSH_CHANNELS and tokens is not None:
        if not subscribed(profile.push_subscribe, rule):
            return "", f"push {profile.push_subscribe}"
        found = tokens.usable.get(profile.pk) or []
        if not found:
            return "", tokens.missing_reason(profile.pk)
        if rendered.get("send_to_most_recent_device_only"):
            found = found[:1]
        # One delivery per profile and channel: every usable token, most recent first.
        return "\n".join(found), ""
    if channel == Channel.SMS:
        if not profile.phone:
            return "", "no phone number"
        group = str(message.get("subscription_group_id") or "")
        # STOP is binding (carrier rules): no recipient_subscription_state overrides it.
        # A profile without a state for the group has not opted out and is sent to.
        if subscription_groups(profile).get(group) == SubscriptionState.UNSUBSCRIBED:
            return "", f"sms subscription group {group} unsubscribed"
        return profile.phone, ""
    if channel == Channel.WEBHOOK:
        return str(rendered.get("url", "")), ""
    return profile.external_id or profile.braze_id, ""
