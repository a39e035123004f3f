"""The ready-to-run `POST /messages/send` request shown on a campaign's page.

Field names follow the message objects of spec §4 (braze-api.md); values are placeholders the
developer replaces. Only the fields a channel requires are shown, plus the variation ID.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

from .models import Campaign, Channel

# One skeleton per `messages` key; required fields only (spec §4.1–§4.8).
MESSAGE_SKELETONS: dict[str, dict[str, Any]] = {
    Channel.APPLE_PUSH: {"alert": {"title": "Your order shipped", "body": "It is on its way."}},
    Channel.ANDROID_PUSH: {"title": "Your order shipped", "alert": "It is on its way."},
    Channel.KINDLE_PUSH: {"title": "Your order shipped", "alert": "It is on its way."},
    Channel.WEB_PUSH: {"title": "Your order shipped", "alert": "It is on its way."},
    Channel.EMAIL: {
        "app_id": "YOUR-APP-ID",
        "from": "Your Company <orders@example.com>",
        "subject": "Your order shipped",
        "body": "<p>Hi {{${first_name}}}, your order is on its way.</p>",
    },
    Channel.SMS: {
        "app_id": "YOUR-APP-ID",
        "subscription_group_id": "YOUR-SMS-SUBSCRIPTION-GROUP-ID",
        "body": "Your order is on its way.",
    },
    Channel.WEBHOOK: {
        "url": "https://example.com/webhooks/order-shipped",
        "request_method": "POST",
        "request_headers": {"Content-Type": "application/json"},
        "body": '{"external_id": "{{${user_id}}}"}',
    },
    Channel.CONTENT_CARD: {
        "type": "CLASSIC",
        "title": "Your order shipped",
        "description": "It is on its way.",
        "time_to_live": 604800,
    },
}


class AppIds:
    """Which `app_id` the example names per channel; a channel left out keeps the placeholder.

    The apps live in messaging, which campaigns may not import: messaging sets `lookup`
    when it loads (messaging.apps), and without it every app ID stays a placeholder.
    """

    lookup: Callable[[list[str]], dict[str, str]] = staticmethod(lambda channels: {})


class SubscriptionGroupIds:
    """The SMS subscription group the example names; None keeps the placeholder.

    Set by messaging when it loads, as `AppIds.lookup` is.
    """

    sms: Callable[[], str | None] = staticmethod(lambda: None)


def send_request_body(campaign: Campaign) -> dict[str, Any]:
    """The JSON body: this campaign's ID and one message object per channel it has.

    A request carries at most one object per channel, so a channel with several variants
    (A/B) uses its first one here; the page lists the others' IDs to swap in.
    """
    messages: dict[str, Any] = {}
    variations = list(campaign.variations.all())
    needing = sorted({v.channel for v in variations if "app_id" in MESSAGE_SKELETONS[v.channel]})
    app_ids = AppIds.lookup(needing) if needing else {}
    # Asked with the app IDs (not only for SMS), so the page's query count does not depend
    # on which channels the campaign has.
    sms_group = SubscriptionGroupIds.sms() if needing else None
    for variation in variations:
        if variation.channel in messages:
            continue
        message = {
            **MESSAGE_SKELETONS[variation.channel],
            "message_variation_id": variation.message_variation_id,
        }
        if "app_id" in message:
            message["app_id"] = app_ids.get(variation.channel, message["app_id"])
        if "subscription_group_id" in message:
            message["subscription_group_id"] = sms_group or message["subscription_group_id"]
        messages[variation.channel] = message
    return {
        "campaign_id": campaign.campaign_id,
        "external_user_ids": ["user-123"],
        "messages": messages,
    }


def trigger_request_body(campaign: Campaign) -> dict[str, Any]:
    """An API-triggered campaign's request: no content, only who and the trigger data."""
    return {
        "campaign_id": campaign.campaign_id,
        "trigger_properties": {"order_number": "A-1001"},
        "recipients": [{"external_user_id": "user-123"}],
    }


def send_request_curl(campaign: Campaign, base_url: str) -> str:
    if campaign.is_api_triggered:
        url = base_url.rstrip("/") + "/campaigns/trigger/send"
        request_body = trigger_request_body(campaign)
    else:
        url = base_url.rstrip("/") + "/messages/send"
        request_body = send_request_body(campaign)
    body = json.dumps(request_body, indent=2, ensure_ascii=False)
    return "\n".join(
        [
            f"curl -X POST {shlex.quote(url)} \\",
            "  -H 'Content-Type: application/json' \\",
            "  -H 'Authorization: Bearer YOUR-REST-API-KEY' \\",
            f"  --data {shlex.quote(body)}",
        ]
    )
