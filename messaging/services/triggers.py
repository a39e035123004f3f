"""API-triggered campaigns: their content (written in the dashboard) and their sends.

The content of each variant is a message object of /messages/send, checked by the same
models and the same Liquid compiler, and stored on the variation. A trigger builds the
dispatch(es) /messages/send would: the campaign's content, the request's recipients, and
its `trigger_properties` (top-level and per recipient), which Liquid reads as
`{{api_trigger_properties.${name}}}` (messaging.delivery.recipients). Unlike an API
campaign, the global control group is honoured.

A/B: a channel with n variants splits the audience by `random_bucket` (0–9999, drawn once
per profile) into n even ranges, so a profile always gets the same variant; each range of
the split is one dispatch (the answer names the first).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from django.db.models import Q

from accounts.audit import audit_record
from campaigns.errors import UnknownCampaign
from campaigns.models import Campaign, MessageVariation

from .. import liquid
from ..audience import AudienceError, audience_normalize
from ..errors import (
    InvalidAudience,
    InvalidSend,
    InvalidSendId,
    InvalidTemplate,
    NoMessage,
    NoRecipients,
    TooManyRecipients,
    UnknownSendId,
)
from ..models import Profile, SendIdentifier, UserAlias
from ..schemas.messages import CHANNEL_MODELS, send_id_problem
from ..schemas.triggers import (
    MAX_TRIGGER_RECIPIENTS,
    TRIGGER_PROPERTIES_MAX_BYTES,
    TriggerSendBody,
)
from .dispatch import SendPlan, sendable_campaign

BUCKETS = 10_000


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def variation_content_check(*, channel: str, content: dict[str, Any]) -> dict[str, Any]:
    """A variant's message object, checked as /messages/send checks one; InvalidSend (with
    the field named) or InvalidTemplate when it is not sendable."""
    model = CHANNEL_MODELS[channel]
    try:
        message = model.model_validate(content)
    except pydantic.ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or channel}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        ]
        raise InvalidSend(*problems) from None
    checked = message.model_dump(mode="json", by_alias=True, exclude_none=True)
    checked.pop("message_variation_id", None)
    try:
        liquid.compile_fields(checked, field_path=f"messages.{channel}")
    except liquid.LiquidTemplateError as exc:
        raise InvalidTemplate(str(exc)) from None
    return checked


def variation_content_save(
    *, variation: MessageVariation, content: dict[str, Any], by=None  # type: ignore[no-untyped-def]
) -> MessageVariation:
    """Check and store one variant's content (audited: campaign.content_changed)."""
    variation.content = variation_content_check(channel=variation.channel, content=content)
    variation.save(update_fields=["content"])
    audit_record(
        action="campaign.content_changed", actor=by, target=variation.campaign,
        target_id=str(variation.campaign.api_id), target_label=variation.campaign.name,
        changes={"variation": variation.message_variation_id, "channel": variation.channel},
    )
    return variation


def triggered_campaign(campaign_id: str) -> tuple[Campaign, list[MessageVariation]]:
    """The API-triggered campaign a request names, with its variants and their content
    (else Invalid Campaign ID, or the archived refusal)."""
    campaign = sendable_campaign(campaign_id)
    if not campaign.is_api_triggered:
        raise UnknownCampaign("campaign_id: not an API-triggered campaign")
    variations = list(campaign.variations.order_by("position", "id"))
    for variation in variations:
        variation.campaign = campaign
    return campaign, variations


def variant_groups(
    variations: list[MessageVariation],
) -> list[tuple[tuple[int, int] | None, dict[str, MessageVariation]]]:
    """[(random_bucket range or None for everyone, {channel: variation})]."""
    by_channel: dict[str, list[MessageVariation]] = {}
    for variation in variations:
        by_channel.setdefault(variation.channel, []).append(variation)
    if all(len(group) == 1 for group in by_channel.values()):
        return [(None, {channel: group[0] for channel, group in by_channel.items()})]
    # Variant k of n takes the buckets b with b * n // BUCKETS == k: from ceil(k * BUCKETS / n).
    edges = sorted({0, BUCKETS} | {
        -(-k * BUCKETS // len(group)) for group in by_channel.values() for k in range(len(group))
    })
    pieces = []
    for low, high in zip(edges, edges[1:], strict=False):
        chosen = {
            channel: group[low * len(group) // BUCKETS] for channel, group in by_channel.items()
        }
        pieces.append(((low, high), chosen))
    return pieces


def _recipients(body: TriggerSendBody) -> tuple[dict[str, Any], list[str]]:
    """The audience keys of the listed recipients, with per-profile properties; warnings."""
    warnings: list[str] = []
    recipients = body.recipients or []
    ids = list(dict.fromkeys(r.external_user_id for r in recipients if r.external_user_id))
    aliases = list({
        (r.user_alias.alias_label, r.user_alias.alias_name): r.user_alias.model_dump()
        for r in recipients if r.user_alias
    }.values())
    by_id = dict(Profile.objects.filter(external_id__in=ids).values_list("external_id", "pk"))
    by_alias: dict[tuple[str, str], int] = {}
    if aliases:
        query = Q()
        for alias in aliases:
            query |= Q(alias_label=alias["alias_label"], alias_name=alias["alias_name"])
        by_alias = {
            (label, name): pk for label, name, pk in
            UserAlias.objects.filter(query).values_list("alias_label", "alias_name", "profile_id")
        }
    properties: dict[str, dict[str, Any]] = {}
    for index, recipient in enumerate(recipients):
        if recipient.external_user_id:
            pk = by_id.get(recipient.external_user_id)
            missing = f"no user with external_id {recipient.external_user_id!r}"
        else:
            alias = recipient.user_alias
            pk = by_alias.get((alias.alias_label, alias.alias_name))
            missing = f"no user with alias {alias.alias_label}:{alias.alias_name}"
        if pk is None:
            warnings.append(f"recipients[{index}]: {missing}")
            continue
        if recipient.trigger_properties:
            # A duplicate recipient gets one message: its properties are merged in order.
            properties[str(pk)] = {**properties.get(str(pk), {}), **recipient.trigger_properties}
    audience = {"external_user_ids": ids, "user_aliases": aliases}
    return {**audience, "recipient_trigger_properties": properties}, warnings


def trigger_plans_build(*, body: TriggerSendBody) -> list[SendPlan]:
    """Check a trigger against the database and plan its dispatch(es); writes nothing."""
    recipients = body.recipients or []
    if len(recipients) > MAX_TRIGGER_RECIPIENTS:
        raise TooManyRecipients(f"recipients: at most {MAX_TRIGGER_RECIPIENTS}")
    if body.broadcast and recipients:
        raise InvalidAudience("broadcast: cannot be true together with recipients")
    if not body.broadcast and not recipients:
        if body.audience is not None:
            raise InvalidAudience("broadcast: must be true to send to a whole audience")
        raise NoRecipients("recipients or broadcast: none given")
    for index, recipient in enumerate(recipients):
        if recipient.trigger_properties and _size(recipient.trigger_properties) > (
            TRIGGER_PROPERTIES_MAX_BYTES
        ):
            raise InvalidSend(f"recipients[{index}].trigger_properties: over 50 KB")
    if body.trigger_properties and _size(body.trigger_properties) > TRIGGER_PROPERTIES_MAX_BYTES:
        raise InvalidSend("trigger_properties: over 50 KB")
    audience_filter = None
    if body.audience is not None:
        try:
            audience_filter = audience_normalize(body.audience)
        except AudienceError as exc:
            raise InvalidAudience(str(exc)) from None
    campaign, variations = triggered_campaign(body.campaign_id)
    if not variations:
        raise NoMessage("campaign_id: the campaign has no message yet")
    empty = [v for v in variations if not v.content]
    if empty:
        raise NoMessage(
            f"campaign_id: the {empty[0].get_channel_display()} message {empty[0].name!r} has "
            "no content yet (write it on the campaign's Content page)"
        )
    send_id = ""
    if body.send_id is not None:
        problem = send_id_problem(body.send_id)
        if problem:
            raise InvalidSendId(f"send_id: {problem}")
        if not SendIdentifier.objects.filter(campaign=campaign, send_id=body.send_id).exists():
            raise UnknownSendId("send_id: not created for this campaign (POST /sends/id/create)")
        send_id = body.send_id
    listed, warnings = _recipients(body) if recipients else ({}, [])
    base = {
        "broadcast": body.broadcast,
        "external_user_ids": listed.get("external_user_ids", []),
        "user_aliases": listed.get("user_aliases", []),
        "segment_id": None,
        "filter": audience_filter,
        "exclude_global_control": True,
        "trigger_properties": body.trigger_properties or {},
        "recipient_trigger_properties": listed.get("recipient_trigger_properties", {}),
    }
    plans = []
    for buckets, chosen in variant_groups(variations):
        audience = dict(base)
        if buckets is not None:
            audience["random_buckets"] = list(buckets)
        messages = {
            channel: {**variation.content, "message_variation_id": variation.message_variation_id}
            for channel, variation in chosen.items()
        }
        plans.append(SendPlan(
            messages=messages, audience=audience, recipient_subscription_state="subscribed",
            campaign=campaign, send_id=send_id, warnings=list(warnings),
        ))
    return plans
