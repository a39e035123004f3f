"""What an adapter answered for a chunk, written back in a few statements.

- final rows (delivered, bounced, failed; temporary failures once retries are over): one
  `UPDATE … FROM unnest(…)` on PostgreSQL, `bulk_update` on SQLite, only for rows still
  `sending` or `pending` (a row cancelled, or already recorded by another run, stays);
- rows to try again (a temporary failure, or never attempted before the chunk's
  deadline): back to `pending`, one UPDATE per distinct answer;
- their engagement events through ONE `engagement_record_many` call (one home for how:
  messaging.services.delivery_events), so the rollups move once per bucket per chunk;
  events are recorded at most once per delivery and kind, so a row recorded twice (a
  slow worker answering after a resend) adds no event;
- the dispatch's counters, one `F()` increment per chunk, from the rows really updated;
- on PostgreSQL, committed without waiting for the disk flush (see _commit_without_flush).

Deliveries carried by the sandbox (provider "sandbox") are `sandboxed` events and count
as sandboxed, never as delivered: nothing reached a phone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import EngagementEvent
from analytics.services import engagement_record_many
from campaigns.models import Channel
from config.metrics import DELIVERIES

from .. import ops
from ..channels.base import Outcome, Result
from ..models import Delivery, Dispatch
from ..services.delivery_events import delivery_event
from ..services.email_hygiene import hard_bounces_from_outcomes
from ..services.providers import push_token_invalidate

log = logging.getLogger(__name__)
Kind = EngagementEvent.Kind
SANDBOX = "sandbox"
RETRY_LATER = "temporary failure; will retry"
NOT_ATTEMPTED = "not attempted before the chunk's deadline; will retry"

_EVENTS = {
    Result.DELIVERED: (Kind.SENT, Kind.DELIVERED),
    Result.BOUNCED: (Kind.SENT, Kind.BOUNCE_HARD),
    Result.FAILED: (Kind.FAILED,),
}
_STATUS = {
    Result.DELIVERED: Delivery.Status.DELIVERED,
    Result.BOUNCED: Delivery.Status.BOUNCED,
    Result.FAILED: Delivery.Status.FAILED,
}


@dataclass
class _Final:
    row: Delivery
    status: str
    kinds: tuple[str, ...]
    response: str
    error: str
    sent_at: datetime | None
    details: dict


def _final(row: Delivery, outcome: Outcome, *, provider: str, now: datetime) -> _Final:
    if outcome.result == Result.RETRY:
        # Out of retries. An email the server kept deferring is a soft bounce.
        email = row.channel == Channel.EMAIL
        status = Delivery.Status.BOUNCED if email else Delivery.Status.FAILED
        kinds: tuple[str, ...] = (Kind.SENT, Kind.BOUNCE_SOFT) if email else (Kind.FAILED,)
        error = "temporary failures persisted; gave up"
    else:
        status = _STATUS[outcome.result]
        kinds = _EVENTS[outcome.result]
        error = "" if outcome.result == Result.DELIVERED else outcome.provider_response[:500]
    if provider == SANDBOX and status == Delivery.Status.DELIVERED:
        kinds = (Kind.SANDBOXED,)
    sent = Kind.SENT in kinds or status == Delivery.Status.DELIVERED
    return _Final(
        row, status, kinds, outcome.provider_response[:4000], error, now if sent else None,
        outcome.details,
    )


def _finals_write(finals: list[_Final], *, provider: str, now: datetime) -> set[int]:
    """Store the final rows still open (sending or pending); returns the pks written."""
    if not finals:
        return set()
    open_statuses = (Delivery.Status.SENDING, Delivery.Status.PENDING)
    if connection.vendor == "postgresql":
        # Columns as arrays, unnested: five parameters and one statement text for any
        # chunk size (psycopg and the server parse it once, not per chunk).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE messaging_delivery AS d SET status = v.status, provider = %s,"
                " provider_response = v.response, error = v.error, sent_at = v.sent_at,"
                " updated_at = %s"
                " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[],"
                " %s::timestamptz[]) AS v(id, status, response, error, sent_at)"
                " WHERE d.id = v.id AND d.status = ANY(%s) RETURNING d.id",
                [
                    provider[:32],
                    now,
                    [f.row.pk for f in finals],
                    [f.status for f in finals],
                    [f.response for f in finals],
                    [f.error for f in finals],
                    [f.sent_at for f in finals],
                    list(open_statuses),
                ],
            )
            return {pk for (pk,) in cursor.fetchall()}
    # SQLite: writers are serialized (the surrounding transaction is IMMEDIATE), so the
    # rows read open here are still open when bulk_update writes them.
    still_open = set(
        Delivery.objects.filter(
            pk__in=[f.row.pk for f in finals], status__in=open_statuses
        ).values_list("pk", flat=True)
    )
    rows = []
    for f in finals:
        if f.row.pk not in still_open:
            continue
        row = f.row
        row.status, row.provider, row.provider_response = f.status, provider[:32], f.response
        row.error, row.sent_at, row.updated_at = f.error, f.sent_at, now
        rows.append(row)
    Delivery.objects.bulk_update(
        rows,
        ["status", "provider", "provider_response", "error", "sent_at", "updated_at"],
        batch_size=500,
    )
    return still_open


def _commit_without_flush() -> None:
    """This transaction's commit returns before its WAL is flushed to disk.

    Safe here, and only here: the rows were committed `sending` with their attempt
    started, durably, before the adapter call. Should PostgreSQL itself crash within a
    fraction of a second after this commit, the answers are lost and the rows found
    `sending` again: the sweeper resends them under the same message ID, the duplicate a
    worker crash can cause too, and their events are recorded once (dedupe keys). In
    exchange a chunk waits for one disk flush (its rows' creation), not two."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


@dataclass
class Recorded:
    retry: int = 0  # rows back to pending, for a later attempt
    written: int = 0  # final rows stored by this call


def outcomes_record(
    *,
    dispatch_pk: int,
    rows: list[Delivery],
    outcomes: list[Outcome],
    provider: str,
    give_up: bool,
    attempted: bool = True,
) -> Recorded:
    """Store what the provider answered for a chunk, with its events and counters.

    `give_up`: the last attempt, temporary failures are final. `attempted=False`: the
    adapter was never reached (the rows go back to pending however `give_up` is). The
    tokens the provider reported dead are invalidated one by one, whatever the
    delivery's outcome (one device of a profile may be gone while another is only busy).
    """
    for outcome in outcomes:
        for dead in outcome.dead_tokens:
            push_token_invalidate(app_id=dead.app_id, token=dead.token)
    now = timezone.now()
    finals: list[_Final] = []
    again: dict[tuple[str, str, bool], list[int]] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        started = attempted and getattr(outcome, "attempted", True)
        if not started or (outcome.result == Result.RETRY and not give_up):
            key = (outcome.provider_response[:4000], RETRY_LATER if started else NOT_ATTEMPTED,
                   started)  # fmt: skip
            again.setdefault(key, []).append(row.pk)
        else:
            finals.append(_final(row, outcome, provider=provider, now=now))
    result = Recorded()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if own_transaction and connection.vendor == "postgresql":
            _commit_without_flush()
        for (response, error, started), pks in again.items():
            changes: dict[str, object] = {
                "status": Delivery.Status.PENDING,
                "provider": provider[:32],
                "provider_response": response,
                "error": error,
                "updated_at": now,
            }
            if not started:
                changes["attempt_started_at"] = None  # never handed over: no resend to count
            # Only from `sending`: a row cancelled or recorded meanwhile stays as it is.
            result.retry += Delivery.objects.filter(
                pk__in=pks, status=Delivery.Status.SENDING
            ).update(**changes)
        written = _finals_write(finals, provider=provider, now=now)
        result.written = len(written)
        counts = {"delivered": 0, "sandboxed": 0, "bounced": 0, "failed": 0}
        events = []
        for f in finals:
            if f.row.pk not in written:
                continue
            if Kind.SANDBOXED in f.kinds:
                counts["sandboxed"] += 1
            elif f.status == Delivery.Status.DELIVERED:
                counts["delivered"] += 1
            else:
                counts["failed"] += 1
                counts["bounced"] += f.status == Delivery.Status.BOUNCED
            properties: dict[str, object] = {}
            if f.row.message_extras:
                properties["message_extras"] = f.row.message_extras
            if f.details:
                properties["provider"] = f.details
            for kind in f.kinds:
                events.append(
                    delivery_event(
                        f.row,
                        kind=kind,
                        dedupe_key=f"{f.row.message_id}:{kind}",
                        properties=properties or None,
                    )
                )
        if events:
            engagement_record_many(events=events)
        # A permanent SMTP refusal suppresses the address (issue 16: email hygiene).
        hard = [f for f in finals if f.row.pk in written and f.row.channel == Channel.EMAIL
                and Kind.BOUNCE_HARD in f.kinds]
        if hard:
            hard_bounces_from_outcomes([f.row for f in hard], [f.error for f in hard])
        ops.deliveries_count(result.written)
        for f in finals:
            if f.row.pk in written:
                outcome = "sandboxed" if Kind.SANDBOXED in f.kinds else f.status
                DELIVERIES.labels(f.row.channel, outcome, provider[:32]).inc()
                if f.error:
                    log.info("%s %s: %s", f.row.channel, f.status, f.error,
                             extra={"message_id": f.row.message_id})  # fmt: skip
        if result.written:
            Dispatch.objects.filter(pk=dispatch_pk).update(
                delivered_count=F("delivered_count") + counts["delivered"],
                sandboxed_count=F("sandboxed_count") + counts["sandboxed"],
                bounced_count=F("bounced_count") + counts["bounced"],
                failed_count=F("failed_count") + counts["failed"],
            )
    return result


def delivery_record_outcome(
    *, delivery: Delivery, outcome: Outcome, provider: str, give_up: bool
) -> None:
    """One row's answer (a late or out-of-band answer); the engine records whole chunks."""
    outcomes_record(
        dispatch_pk=delivery.dispatch_id,
        rows=[delivery],
        outcomes=[outcome],
        provider=provider,
        give_up=give_up,
    )
