"""One plan per message object of a dispatch: its channel, compiled templates and variation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from campaigns.models import MessageVariation

from .. import liquid
from ..models import Dispatch


@dataclass
class ChannelPlan:
    channel: str
    message: dict[str, Any]
    compiled: liquid.Compiled
    variation: MessageVariation | None
    app_id: str


def channel_plans(dispatch: Dispatch) -> list[ChannelPlan]:
    """Raises liquid.LiquidTemplateError when a template no longer compiles."""
    variations = {}
    if dispatch.campaign_id:
        variations = {
            v.message_variation_id: v
            for v in MessageVariation.objects.filter(campaign_id=dispatch.campaign_id)
        }
    plans = []
    for channel, message in (dispatch.messages or {}).items():
        plans.append(
            ChannelPlan(
                channel=channel,
                message=message,
                # Compiled once per run (the request compiled it once already, to answer 400).
                compiled=liquid.compile_fields(message, field_path=f"messages.{channel}"),
                variation=variations.get(message.get("message_variation_id", "")),
                app_id=str(message.get("app_id", "")),
            )
        )
    return plans
