"""One run of a dispatch: page through the audience, create, claim, send and record.

`dispatch_run` is safe to run any number of times, concurrently or after a crash:

- delivery rows are unique per (dispatch, profile, channel) and created with
  `ignore_conflicts`, so a second run finds them instead of adding more (`rows`);
- a row is sent only by the run that moved it from `pending` to `sending` in a locked
  transaction, so two runs never send one row (`claims`);
- the payload is rendered once, when the row is created, and stored on it: a retry sends
  exactly what the first attempt would have.

The audience is walked by primary key in fixed-size pages (keyset pagination, `paging`),
so a broadcast to millions never sits in memory whole. Each page is finished (rows
created, claimed, sent, recorded) before the next is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from campaigns.services import variations_sent

from .. import liquid
from ..models import Dispatch
from .claims import deliveries_claim
from .outcomes import dispatch_progress_update
from .paging import audience_batches, audience_count, audience_queryset, python_filter
from .plans import channel_plans
from .rows import deliveries_create
from .send import deliveries_send


@dataclass
class RunResult:
    retry_pending: int = 0
    finished: bool = False


def dispatch_run(*, dispatch_pk: int, give_up: bool = False) -> RunResult:
    """Deliver what is left of a dispatch. `give_up`: last attempt, temporary failures are final."""
    dispatch = Dispatch.objects.select_related("campaign").filter(pk=dispatch_pk).first()
    if dispatch is None or dispatch.status in (Dispatch.Status.DONE, Dispatch.Status.FAILED):
        return RunResult(finished=True)
    now = timezone.now()
    if (
        Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.QUEUED).update(
            status=Dispatch.Status.RUNNING, started_at=now
        )
        and dispatch.campaign_id
    ):
        # The campaign's first and last send dates; each variation's is set when its
        # delivery rows are created (rows.deliveries_create).
        variations_sent(campaign_id=dispatch.campaign_id, at=now)
    try:
        plans = channel_plans(dispatch)
    except liquid.LiquidTemplateError as exc:
        Dispatch.objects.filter(pk=dispatch.pk).update(
            status=Dispatch.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        return RunResult(finished=True)

    profiles = audience_queryset(dispatch)
    Dispatch.objects.filter(pk=dispatch.pk).update(
        recipients_total=audience_count(dispatch, profiles)
    )
    result = RunResult()
    for batch in audience_batches(profiles, tree=python_filter(dispatch)):
        for plan in plans:
            deliveries_create(dispatch=dispatch, plan=plan, profiles=batch)
            claimed = deliveries_claim(dispatch=dispatch, channel=plan.channel, profiles=batch)
            result.retry_pending += deliveries_send(
                channel=plan.channel, claimed=claimed, give_up=give_up
            )
        dispatch_progress_update(dispatch=dispatch)

    if result.retry_pending == 0:
        # Rows another run still holds (sending) finish there; this dispatch is done
        # once no row waits for a retry.
        Dispatch.objects.filter(pk=dispatch.pk).exclude(status=Dispatch.Status.FAILED).update(
            status=Dispatch.Status.DONE, finished_at=timezone.now()
        )
        result.finished = True
    dispatch_progress_update(dispatch=dispatch)
    return result
