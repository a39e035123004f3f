"""Delivery rows for a page of profiles: rendered, addressed, created once, in bulk.

Rows are unique per (dispatch, profile, channel) in the database and inserted in bulk:
on PostgreSQL a COPY into a temporary table then one `INSERT … SELECT … ON CONFLICT DO
NOTHING RETURNING`, on SQLite one multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING`.
So a second run (concurrent, or after a crash) finds them instead of adding more, and
only the rows really inserted are counted and get events. The payload is rendered once
per profile, when the row is created, and stored on it: a retry sends exactly what the
first attempt would have.

A row is born `pending` (to send), `skipped` (nobody to send to, or `abort_message`; a
`skipped` event with the reason) or `failed` (the template could not render for this
profile; a `failed` event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from liquid.exceptions import LiquidError

from analytics.models import EngagementEvent
from analytics.services import engagement_record_many
from campaigns.models import PUSH_CHANNELS
from campaigns.services import variations_sent

from .. import liquid
from ..models import Delivery, Dispatch, Profile
from ..services.delivery_events import delivery_event
from .plans import ChannelPlan
from .push_tokens import UsableTokens, usable_tokens
from .recipients import profile_context, recipient_address

RENDER_FAILED = "Liquid rendering failed"
# Rows per INSERT statement: about 20 parameters a row stays below SQLite's 32,766.
INSERT_ROWS = 1000


@dataclass
class Created:
    """What one page added: rows inserted by this call, by outcome."""

    rows: int = 0
    pending: int = 0
    skipped: int = 0
    failed: int = 0
    profiles: int = 0  # profiles that got their first row of the dispatch
    # The pending rows inserted by this call (ours to claim), and per channel the
    # profiles whose row existed already (an earlier run's: found by a claim query).
    fresh: list[Delivery] = field(default_factory=list)
    existing: dict[str, list[int]] = field(default_factory=dict)


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


STAGE = "herald_delivery_stage"


def _copy_value(value: object) -> object:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _rows_insert_copy(rows: list[Delivery]) -> list[tuple[int, int, str]]:
    """PostgreSQL: COPY into a temporary table of this connection, then one INSERT …
    SELECT … ON CONFLICT DO NOTHING (COPY itself cannot skip conflicts)."""
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        # Once per connection (temporary tables live as long as it): same columns and
        # types as the delivery table, no constraints; emptied at each commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ON COMMIT DELETE ROWS AS"
            f" SELECT {columns} FROM messaging_delivery WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_copy_value(f.pre_save(row, add=True)) for f in fields])
        cursor.execute(
            f"INSERT INTO messaging_delivery ({columns}) SELECT {columns} FROM {STAGE}"
            " ON CONFLICT (dispatch_id, profile_id, channel) DO NOTHING"
            " RETURNING id, profile_id, channel"
        )
        inserted = cursor.fetchall()
        cursor.execute(f"TRUNCATE {STAGE}")
    return inserted


def rows_insert(rows: list[Delivery]) -> list[Delivery]:
    """Insert `rows`, skipping those whose (dispatch, profile, channel) exists; returns the
    rows really inserted, with their pk set. Must run inside a transaction."""
    if not rows:
        return []
    by_key = {(row.profile_id, row.channel): row for row in rows}
    if connection.vendor == "postgresql":
        inserted = []
        for pk, profile_id, channel in _rows_insert_copy(rows):
            row = by_key[(profile_id, channel)]
            row.pk = pk
            row._state.adding = False
            inserted.append(row)
        return inserted
    opts = Delivery._meta
    quote = connection.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: list[Delivery] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            params: list[object] = []
            for row in chunk:
                for f in fields:
                    # pre_save fills auto_now / auto_now_add; get_db_prep_save adapts JSON.
                    params.append(f.get_db_prep_save(f.pre_save(row, add=True), connection))
            cursor.execute(
                f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES "
                + ", ".join([placeholders] * len(chunk))
                + " ON CONFLICT (dispatch_id, profile_id, channel) DO NOTHING"
                " RETURNING id, profile_id, channel",
                params,
            )
            for pk, profile_id, channel in cursor.fetchall():
                row = by_key[(profile_id, channel)]
                row.pk = pk
                row._state.adding = False
                inserted.append(row)
    return inserted


def deliveries_create(
    *, dispatch: Dispatch, plans: list[ChannelPlan], profiles: list[Profile]
) -> Created:
    """The rows of every plan for the profiles of one page that have none yet."""
    created = Created()
    if not profiles:
        return created
    have = set(
        Delivery.objects.filter(dispatch=dispatch, profile__in=profiles).values_list(
            "profile_id", "channel"
        )
    )
    had_any = {profile_id for profile_id, _ in have}
    for profile_id, channel in have:
        created.existing.setdefault(channel, []).append(profile_id)
    rows: list[Delivery] = []
    for plan in plans:
        todo = [p for p in profiles if (p.pk, plan.channel) not in have]
        if not todo:
            continue
        tokens = (
            usable_tokens(channel=plan.channel, app_id=plan.app_id, profiles=todo)
            if plan.channel in PUSH_CHANNELS
            else None
        )
        rows.extend(_row(dispatch, plan, profile, tokens) for profile in todo)
    if not rows:
        return created
    events = []
    with transaction.atomic():
        for plan in plans:
            if plan.variation is not None and plan.variation.first_sent_at is None:
                # The variation now has deliveries: campaigns records it (and then refuses
                # to remove it). Once per variation; later pages and runs see the date set.
                plan.variation.first_sent_at = timezone.now()
                variations_sent(
                    campaign_id=plan.variation.campaign_id,
                    variation_ids=[plan.variation.pk],
                    at=plan.variation.first_sent_at,
                )
        # A concurrent run may have created some of these rows meanwhile: keep theirs.
        inserted = rows_insert(rows)
        for row in inserted:
            if row.status == Delivery.Status.SKIPPED:
                created.skipped += 1
                kind = EngagementEvent.Kind.SKIPPED
            elif row.status == Delivery.Status.FAILED:
                created.failed += 1
                kind = EngagementEvent.Kind.FAILED
            else:
                created.pending += 1
                created.fresh.append(row)
                continue
            events.append(
                delivery_event(
                    row,
                    kind=kind,
                    dedupe_key=f"{row.message_id}:{kind}",
                    properties={"reason": row.error},
                )
            )
        created.rows = len(inserted)
        created.profiles = len({row.profile_id for row in inserted} - had_any)
        if events:
            engagement_record_many(events=events)
        if created.rows:
            Dispatch.objects.filter(pk=dispatch.pk).update(
                recipients_resolved=F("recipients_resolved") + created.profiles,
                skipped_count=F("skipped_count") + created.skipped,
                failed_count=F("failed_count") + created.failed,
            )
    return created
