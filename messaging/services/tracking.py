"""What a tracking link records: opens, clicks and unsubscribes of one delivery.

Opens and clicks come in bursts (a campaign lands in thousands of inboxes at once) and
their answer must not wait on the rollups: the request writes one raw `TrackingHit`
(`hit_record`) and a worker folds hits into engagement events in batches
(`tracking_hits_fold`), so each rollup bucket gets one upsert per batch instead of one
per hit. Unsubscribing changes the profile, and stays in the request.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import EngagementEvent, TrackingHit
from analytics.services import engagement_record_many

from ..models import Delivery, SubscriptionState
from .delivery_events import delivery_event
from .profiles import profile_email_unsubscribe

# Opens this soon after sending are scanners or prefetchers, not people.
MACHINE_OPEN_DELAY = timedelta(seconds=5)
# Privacy proxies and security scanners fetch every image without a person reading.
# Apple Mail Privacy Protection presents a bare "Mozilla/5.0"; Google's image proxy
# ("GoogleImageProxy") fetches when a person opens, so it still counts as human.
_MACHINE_AGENTS = re.compile(
    r"(bot\b|crawler|spider|barracuda|mimecast|proofpoint|symantec|messagelabs|"
    r"microsoft office protection|safelinks|yahoomailproxy|preview)", re.IGNORECASE)
_BARE_MOZILLA = re.compile(r"^\s*Mozilla/5\.0\s*$")


# Hits folded per transaction: large enough that rollups see few upserts, small enough
# that a fold holds its row locks for a fraction of a second.
FOLD_BATCH = 2000


def tracked_delivery(message_id: str) -> Delivery | None:
    return Delivery.objects.select_related("profile").filter(message_id=message_id).first()


_HIT_COLUMNS = "(kind, message_id, occurred_at, user_agent, url, link_index)"
_HIT_TABLE = TrackingHit._meta.db_table  # the model's own table name, no input
_HIT_INSERT = f"INSERT INTO {_HIT_TABLE} {_HIT_COLUMNS} VALUES (%s, %s, %s, %s, %s, %s)"
# PostgreSQL: the statement is its own transaction (autocommit) and, through the CTE,
# sets synchronous_commit off for that transaction alone, so its commit returns without
# waiting for the disk flush; one round trip, nothing else changed for the connection.
_HIT_INSERT_ASYNC = (
    "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)) "
    f"INSERT INTO {_HIT_TABLE} {_HIT_COLUMNS} "
    # Typed: bound on the server, a NULL link_index would otherwise arrive as text.
    "SELECT %s::varchar, %s::varchar, %s::timestamptz, %s::varchar, %s::varchar, %s::integer"
    " FROM async_commit"
)


def hit_record(
    *, kind: str, message_id: str, user_agent: str, url: str = "", link_index: int | None = None
) -> None:
    """Keep one open or click for the next fold: a single INSERT, one round trip.

    This runs for every pixel and click, so it skips what costs as much as the insert:
    the model machinery (one plain statement), and on PostgreSQL the wait for the disk
    flush (_HIT_INSERT_ASYNC) and the health check of the connection (a `SELECT 1`, one
    more round trip), replaced by reconnecting once if the statement finds the
    connection dropped. Committed before the answer leaves, so a web process dying loses
    nothing; only a crash of PostgreSQL itself within a fraction of a second
    (wal_writer_delay) could lose the last hits.
    """
    params = [
        kind, message_id[:32], timezone.now(), user_agent[:300], url[:500],
        link_index if isinstance(link_index, int) else None,
    ]  # fmt: skip
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(_HIT_INSERT, params)
        return
    raw = connection.connection  # psycopg's own: no health check before the statement
    if raw is not None and not raw.closed:
        try:
            # A server-side cursor and a prepared statement: Django's own cursors bind on
            # the client, so PostgreSQL would parse and plan the same INSERT on every hit.
            with psycopg.Cursor(raw) as cursor:
                cursor.execute(_HIT_INSERT_ASYNC, params, prepare=True)
            return
        except psycopg.OperationalError:
            # Dropped since the last request (PostgreSQL restarted): connect again below.
            # A dropped connection fails the statement before it runs; only if it ran and
            # just its answer was lost would this hit count twice.
            connection.close()
    with connection.cursor() as cursor:
        cursor.execute(_HIT_INSERT_ASYNC, params)


def is_machine_open(delivery: Delivery, user_agent: str, at: datetime) -> bool:
    """Scanners and privacy proxies: known agents, or a fetch right after sending."""
    if _MACHINE_AGENTS.search(user_agent) or _BARE_MOZILLA.match(user_agent):
        return True
    return delivery.sent_at is not None and at - delivery.sent_at < MACHINE_OPEN_DELAY


def _hit_event(hit: TrackingHit, delivery: Delivery) -> dict | None:
    profile = delivery.profile
    # The hit's own id keeps the event unique: every fetch counts (total opens), and a
    # fold that runs twice over the same hit records it once.
    dedupe_key = f"{delivery.message_id}:{hit.kind}:hit{hit.pk}"
    if hit.kind == TrackingHit.Kind.OPEN:
        if profile is not None and profile.email_open_tracking_disabled:
            return None
        kind = (EngagementEvent.Kind.MACHINE_OPEN
                if is_machine_open(delivery, hit.user_agent, hit.occurred_at)
                else EngagementEvent.Kind.OPEN)
        properties: dict = {"user_agent": hit.user_agent}
    else:
        if profile is not None and profile.email_click_tracking_disabled:
            return None
        kind = EngagementEvent.Kind.CLICK
        properties = {"link_index": hit.link_index, "url": hit.url}
    return delivery_event(delivery, kind=kind, dedupe_key=dedupe_key,
                          occurred_at=hit.occurred_at, properties=properties)


def tracking_hits_fold(*, batch: int = FOLD_BATCH, max_batches: int = 50) -> int:
    """Turn waiting hits into engagement events, oldest first; returns how many were folded.

    Each batch is one transaction: its hits are recorded and deleted together, so a crash
    leaves them for the next fold, and two folds at once take different rows (skip_locked).
    A hit whose delivery no longer exists (the profile was deleted) is dropped.
    """
    folded = 0
    for _ in range(max_batches):
        with transaction.atomic():
            hits = list(TrackingHit.objects.select_for_update(skip_locked=True)
                        .order_by("pk")[:batch])
            if not hits:
                break
            deliveries = {
                d.message_id: d for d in Delivery.objects.select_related("profile")
                .filter(message_id__in={hit.message_id for hit in hits})
            }
            events = []
            for hit in hits:
                delivery = deliveries.get(hit.message_id)
                event = _hit_event(hit, delivery) if delivery is not None else None
                if event is not None:
                    events.append(event)
            engagement_record_many(events=events)
            TrackingHit.objects.filter(pk__in=[hit.pk for hit in hits]).delete()
        folded += len(hits)
        if len(hits) < batch:
            break
    return folded


def is_unsubscribed(delivery: Delivery) -> bool:
    profile = delivery.profile
    return profile is not None and profile.email_subscribe == SubscriptionState.UNSUBSCRIBED


def unsubscribe_record(*, delivery: Delivery) -> None:
    """The reader confirmed: unsubscribe the profile (once) and count the unsubscribe."""
    profile = delivery.profile
    with transaction.atomic():
        if profile is not None and not is_unsubscribed(delivery):
            # Also remembered by address, so GET /email/unsubscribes lists it.
            profile_email_unsubscribe(profile=profile)
        engagement_record_many(events=[delivery_event(
            delivery, kind=EngagementEvent.Kind.UNSUBSCRIBE,
            dedupe_key=f"{delivery.message_id}:unsubscribe", occurred_at=timezone.now())])
