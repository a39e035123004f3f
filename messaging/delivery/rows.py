"""Delivery rows for a page of profiles: rendered, addressed, created once.

Rows are unique per (dispatch, profile, channel) in the database and created with
`ignore_conflicts`, so a second run (concurrent, or after a crash) finds them instead of
adding more. The payload is rendered once, when the row is created, and stored on it: a
retry sends exactly what the first attempt would have.

A row is born `pending` (to send), `skipped` (nobody to send to, or `abort_message`) or
`failed` (the template could not render for this profile).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from liquid.exceptions import LiquidError

from campaigns.models import PUSH_CHANNELS
from campaigns.services import variations_sent

from .. import liquid
from ..models import Delivery, Dispatch, Profile
from ..services.delivery_events import delivery_events_record
from .plans import ChannelPlan
from .push_tokens import UsableTokens, usable_tokens
from .recipients import profile_context, recipient_address

RENDER_FAILED = "Liquid rendering failed"


def _row(
    dispatch: Dispatch, plan: ChannelPlan, profile: Profile, tokens: UsableTokens | None
) -> Delivery:
    row = Delivery(
        dispatch=dispatch,
        profile=profile,
        channel=plan.channel,
        campaign_id=dispatch.campaign_id,
        variation=plan.variation,
        send_id=dispatch.send_id,
        app_id=plan.app_id[:64],
    )
    try:
        rendered, extras = liquid.render_fields(
            plan.compiled, profile_context(profile, dispatch=dispatch, variation=plan.variation)
        )
    except liquid.AbortMessage as abort:
        row.status, row.error = Delivery.Status.SKIPPED, f"abort_message: {abort.reason}".strip()
        return row
    except (LiquidError, ValueError, TypeError) as exc:
        row.status, row.error = Delivery.Status.FAILED, f"{RENDER_FAILED}: {exc}"[:500]
        return row
    row.rendered, row.message_extras = rendered, extras
    address, skip = recipient_address(
        profile,
        channel=plan.channel,
        message=plan.message,
        rule=dispatch.recipient_subscription_state,
        tokens=tokens,
        rendered=rendered,
    )
    row.address = address
    if skip:
        row.status, row.error = Delivery.Status.SKIPPED, skip
    return row


def deliveries_create(*, dispatch: Dispatch, plan: ChannelPlan, profiles: list[Profile]) -> None:
    """The rows of `plan` for the profiles of one page that have none yet."""
    have = set(
        Delivery.objects.filter(
            dispatch=dispatch, channel=plan.channel, profile__in=profiles
        ).values_list("profile_id", flat=True)
    )
    todo = [p for p in profiles if p.pk not in have]
    if not todo:
        return
    tokens = (
        usable_tokens(channel=plan.channel, app_id=plan.app_id, profiles=todo)
        if plan.channel in PUSH_CHANNELS
        else None
    )
    rows = [_row(dispatch, plan, profile, tokens) for profile in todo]
    with transaction.atomic():
        if plan.variation is not None and plan.variation.first_sent_at is None:
            # The variation now has deliveries: campaigns records it (and then refuses to
            # remove it). Once per variation; later pages and runs see the date set.
            plan.variation.first_sent_at = timezone.now()
            variations_sent(
                campaign_id=plan.variation.campaign_id,
                variation_ids=[plan.variation.pk],
                at=plan.variation.first_sent_at,
            )
        # A concurrent run may have created some of these rows meanwhile: keep theirs.
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    failed_renders = Delivery.objects.filter(
        dispatch=dispatch,
        channel=plan.channel,
        profile__in=todo,
        status=Delivery.Status.FAILED,
        error__startswith=RENDER_FAILED,
    )
    for delivery in failed_renders:
        delivery_events_record(delivery, ("failed",), {"reason": delivery.error})
