"""Every change to a campaign goes through here, each in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.audit import audit_record

from .models import MAX_CONVERSION_EVENTS, Campaign, ConversionEvent, MessageVariation, Tag


@dataclass(frozen=True)
class MessageSpec:
    """One message to keep or create; `variation_id` is None until the variation is minted."""

    channel: str
    name: str
    variation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ConversionSpec:
    kind: str
    window: timedelta
    product_id: str = ""
    custom_event_name: str = ""


class VariationHasSends(ValidationError):
    """A message that has already been sent cannot be removed: its results would lose their key."""


def _save_contents(
    *,
    campaign: Campaign,
    tags: Sequence[str],
    messages: Sequence[MessageSpec],
    conversions: Sequence[ConversionSpec],
) -> None:
    """Tags, messages and conversion events: what create and update both write."""
    _set_tags(campaign=campaign, tags=tags)
    _save_variations(campaign=campaign, messages=messages)
    _save_conversions(campaign=campaign, conversions=conversions)


def _status_for(*, has_messages: bool) -> str:
    # A campaign without messages cannot be sent to with variation IDs yet: it stays a draft.
    return Campaign.Status.ACTIVE if has_messages else Campaign.Status.DRAFT


def _set_tags(*, campaign: Campaign, tags: Sequence[str]) -> None:
    objects = []
    for name in tags:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        objects.append(tag)
    campaign.tags.set(objects)


def _save_conversions(*, campaign: Campaign, conversions: Sequence[ConversionSpec]) -> None:
    if len(conversions) > MAX_CONVERSION_EVENTS:
        raise ValidationError(
            f"A campaign can have at most {MAX_CONVERSION_EVENTS} conversion events."
        )
    existing = {event.position: event for event in campaign.conversion_events.all()}
    # Rows are kept by position (A–D) rather than recreated, so anything that points at an
    # event keeps pointing at "conversion A".
    for position, spec in enumerate(conversions):
        event = existing.pop(position, None) or ConversionEvent(
            campaign=campaign, position=position
        )
        event.kind = spec.kind
        event.product_id = spec.product_id
        event.custom_event_name = spec.custom_event_name
        event.window = spec.window
        event.full_clean()
        event.save()
    ConversionEvent.objects.filter(pk__in=[event.pk for event in existing.values()]).delete()


def _save_variations(*, campaign: Campaign, messages: Sequence[MessageSpec]) -> None:
    existing = {v.api_id: v for v in campaign.variations.all()}
    kept_ids = {spec.variation_id for spec in messages if spec.variation_id is not None}
    unknown = kept_ids - existing.keys()
    if unknown:
        raise ValidationError(
            "A message on this page does not belong to this campaign; reload the page."
        )

    removed = [v for api_id, v in existing.items() if api_id not in kept_ids]
    for variation in removed:
        if variation.first_sent_at is not None:
            raise VariationHasSends(f"“{variation}” has already been sent and cannot be removed.")
        variation.delete()

    # Renames may swap two names; park the renamed rows on unique temporary names first so
    # the (campaign, channel, name) constraint never sees a duplicate mid-way.
    renamed = [
        (existing[spec.variation_id], spec)
        for spec in messages
        if spec.variation_id is not None and existing[spec.variation_id].name != spec.name
    ]
    for variation, _spec in renamed:
        variation.name = f"~renaming {variation.api_id}"
        variation.save(update_fields=["name"])

    for position, spec in enumerate(messages):
        if spec.variation_id is None:
            # Minted here, once: the model's default draws a fresh random UUID.
            variation = MessageVariation(campaign=campaign, channel=spec.channel)
        else:
            variation = existing[spec.variation_id]
            if variation.channel != spec.channel:
                # A variation ID belongs to one channel forever (spec §1.3).
                raise ValidationError("The channel of a saved message cannot change.")
        variation.name = spec.name
        variation.position = position
        variation.full_clean()
        variation.save()


@transaction.atomic
def campaign_create(
    *,
    name: str,
    description: str = "",
    tags: Sequence[str] = (),
    messages: Sequence[MessageSpec] = (),
    conversions: Sequence[ConversionSpec] = (),
    by: AbstractBaseUser | None,
    kind: str = Campaign.Kind.API,
) -> Campaign:
    campaign = Campaign(
        kind=kind,
        name=name,
        description=description,
        created_by=by,
        updated_by=by,
        status=_status_for(has_messages=bool(messages)),
    )
    campaign.full_clean()
    campaign.save()
    _save_contents(campaign=campaign, tags=tags, messages=messages, conversions=conversions)
    audit_record(
        action="campaign.created", actor=by, target=campaign, target_id=str(campaign.api_id),
        changes={"name": name, "kind": kind, "messages": len(messages),
                 "conversions": len(conversions)},
    )
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    name: str,
    description: str = "",
    tags: Sequence[str] = (),
    messages: Sequence[MessageSpec] = (),
    conversions: Sequence[ConversionSpec] = (),
    by: AbstractBaseUser | None,
) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    before = _audited_state(campaign)
    campaign.name = name
    campaign.description = description
    campaign.updated_by = by
    if not campaign.is_archived:
        campaign.status = _status_for(has_messages=bool(messages))
    campaign.full_clean()
    campaign.save()
    _save_contents(campaign=campaign, tags=tags, messages=messages, conversions=conversions)
    after = _audited_state(campaign)
    audit_record(
        action="campaign.edited", actor=by, target=campaign, target_id=str(campaign.api_id),
        changes={key: [before[key], after[key]] for key in after if before[key] != after[key]},
    )
    return campaign


def _audited_state(campaign: Campaign) -> dict[str, object]:
    return {
        "name": campaign.name,
        "description": campaign.description,
        "status": campaign.status,
        "tags": sorted(tag.name for tag in campaign.tags.all()),
        "messages": sorted(f"{v.channel}:{v.name}" for v in campaign.variations.all()),
        "conversions": campaign.conversion_events.count(),
    }


@transaction.atomic
def campaign_archive(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign.status = Campaign.Status.ARCHIVED
    campaign.updated_by = by
    campaign.save(update_fields=["status", "updated_by", "updated_at"])
    audit_record(
        action="campaign.archived", actor=by, target=campaign, target_id=str(campaign.api_id),
        changes={"status": campaign.status},
    )
    return campaign


@transaction.atomic
def campaign_unarchive(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign.status = _status_for(has_messages=campaign.variations.exists())
    campaign.updated_by = by
    campaign.save(update_fields=["status", "updated_by", "updated_at"])
    audit_record(
        action="campaign.unarchived", actor=by, target=campaign, target_id=str(campaign.api_id),
        changes={"status": campaign.status},
    )
    return campaign


@transaction.atomic
def campaign_duplicate(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """A new campaign with the same setup and freshly minted IDs (results are not copied)."""
    name = f"Copy of {campaign.name}"[: Campaign._meta.get_field("name").max_length]
    copy = campaign_create(
        name=name,
        description=campaign.description,
        tags=[tag.name for tag in campaign.tags.all()],
        messages=[MessageSpec(channel=v.channel, name=v.name) for v in campaign.variations.all()],
        conversions=[
            ConversionSpec(
                kind=event.kind,
                window=event.window,
                product_id=event.product_id,
                custom_event_name=event.custom_event_name,
            )
            for event in campaign.conversion_events.all()
        ],
        by=by,
        kind=campaign.kind,
    )
    # An API-triggered campaign's content comes along, variant by variant.
    originals = list(campaign.variations.all())
    for original, new in zip(originals, copy.variations.all(), strict=False):
        if original.content:
            new.content = original.content
            new.save(update_fields=["content"])
    return copy


@transaction.atomic
def variations_sent(
    *, campaign_id: int, variation_ids: Collection[int] = (), at: datetime
) -> None:
    """Record that messages of a campaign go out at `at`.

    The campaign's first and last send dates, and the first of each variation named: a
    variation that has been sent can no longer be removed (its results would lose their
    key). Messaging calls it when a dispatch starts delivering (no variation yet) and when
    it creates the first delivery rows of a variation. Safe to repeat: a first date never
    moves.
    """
    # The campaign row first, and always (an unconditional update locks it): campaign_update
    # locks it too before it checks for sends, so the two run one after the other and never
    # wait on each other's rows in opposite order.
    Campaign.objects.filter(pk=campaign_id).update(last_sent_at=at)
    Campaign.objects.filter(pk=campaign_id, first_sent_at__isnull=True).update(first_sent_at=at)
    if variation_ids:
        MessageVariation.objects.filter(
            campaign_id=campaign_id, pk__in=variation_ids, first_sent_at__isnull=True
        ).update(first_sent_at=at)
