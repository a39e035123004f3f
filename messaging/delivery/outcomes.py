"""What an adapter answered, written back: the row's status, its events, dead tokens.

Every state change of a delivery is also an engagement event (one home for how:
messaging.services.delivery_events), recorded at most once per delivery and kind, so a
row recorded twice (a slow worker answering after the sweeper) adds no event.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from campaigns.models import Channel

from ..channels.base import Outcome, Result
from ..models import Delivery, Dispatch
from ..services.delivery_events import delivery_events_record
from ..services.providers import push_token_invalidate

_EVENTS = {
    Result.DELIVERED: ("sent", "delivered"),
    Result.BOUNCED: ("sent", "bounce_hard"),
    Result.FAILED: ("failed",),
}
_STATUS = {
    Result.DELIVERED: Delivery.Status.DELIVERED,
    Result.BOUNCED: Delivery.Status.BOUNCED,
    Result.FAILED: Delivery.Status.FAILED,
}


def delivery_record_outcome(
    *, delivery: Delivery, outcome: Outcome, provider: str, give_up: bool
) -> None:
    """Store what the provider answered and the matching engagement events.

    The tokens the provider reported dead are invalidated one by one, whatever the
    delivery's outcome (one device of a profile may be gone while another is only busy).
    """
    for dead in outcome.dead_tokens:
        push_token_invalidate(app_id=dead.app_id, token=dead.token)
    now = timezone.now()
    if outcome.result == Result.RETRY and not give_up:
        # Release the claim: a later run of the task picks the row up again. Only from
        # `sending`: a row the sweeper failed meanwhile stays failed.
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.PENDING,
            provider=provider,
            provider_response=outcome.provider_response[:4000],
            error="temporary failure; will retry",
            updated_at=now,
        )
        return
    with transaction.atomic():
        if outcome.result == Result.RETRY:
            # Out of retries. An email the server kept deferring is a soft bounce.
            status = (
                Delivery.Status.BOUNCED
                if delivery.channel == Channel.EMAIL
                else Delivery.Status.FAILED
            )
            kinds: tuple[str, ...] = (
                ("sent", "bounce_soft") if delivery.channel == Channel.EMAIL else ("failed",)
            )
            error = "temporary failures persisted; gave up"
        else:
            status = _STATUS[outcome.result]
            kinds = _EVENTS[outcome.result]
            error = "" if outcome.result == Result.DELIVERED else outcome.provider_response[:500]
        Delivery.objects.filter(pk=delivery.pk).update(
            status=status,
            provider=provider,
            provider_response=outcome.provider_response[:4000],
            error=error,
            sent_at=now if "sent" in kinds or status == Delivery.Status.DELIVERED else None,
            updated_at=now,
        )
        properties = {"message_extras": delivery.message_extras} if delivery.message_extras else {}
        if outcome.details:
            properties["provider"] = outcome.details
        delivery_events_record(delivery, kinds, properties)


def dispatch_progress_update(*, dispatch: Dispatch) -> None:
    """Recount the dispatch's progress from its delivery rows (idempotent)."""
    counts = dict(dispatch.deliveries.values_list("status").annotate(n=Count("pk")))
    Dispatch.objects.filter(pk=dispatch.pk).update(
        recipients_resolved=dispatch.deliveries.values("profile_id").distinct().count(),
        delivered_count=counts.get(Delivery.Status.DELIVERED, 0)
        + counts.get(Delivery.Status.SENT, 0),
        failed_count=counts.get(Delivery.Status.FAILED, 0) + counts.get(Delivery.Status.BOUNCED, 0),
        skipped_count=counts.get(Delivery.Status.SKIPPED, 0),
    )
