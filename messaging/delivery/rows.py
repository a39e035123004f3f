"""Delivery rows for a chunk of profiles on one channel: rendered, addressed, created once.

Rows are unique per (dispatch, profile, channel) in the database. On PostgreSQL a
chunk's rows go in by one COPY (`config.sql.copy_insert`, several times cheaper than an
INSERT); a row that exists already (a concurrent run of the same shard made it) makes
the COPY fail, and the chunk is written again, in a new transaction, by `INSERT … ON
CONFLICT DO NOTHING RETURNING` (`config.sql.insert_new`; on SQLite always), which keeps
the existing rows. So a second run (concurrent, or after a crash) finds them instead of
adding more, and only the rows really inserted are counted and get events. The payload
is rendered once per profile, when the row is created, and stored on it: a retry sends
exactly what the first attempt would have.

A row is created just before its chunk goes to the adapter, and born either:
- `sending` with its attempt started (the claim and the mark of claims, in the same
  statement as the insert): it is this run's to send right away, and from the commit on
  it may reach the receiver, so a lost worker's row is resent under its message ID;
- `skipped` (nobody to send to, or `abort_message`; a `skipped` event with the reason)
  or `failed` (the template could not render for this profile; a `failed` event).
Profiles not reached yet have no row at all: a run after a crash simply creates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from liquid.exceptions import LiquidError

from analytics.models import EngagementEvent
from analytics.services import engagement_record_many
from campaigns.models import PUSH_CHANNELS, Channel
from campaigns.services import variations_sent
from config import sql

from .. import liquid
from ..models import Delivery, Dispatch, Profile
from ..services.delivery_events import delivery_event
from ..services.email_hygiene import rows_suppressed
from .plans import ChannelPlan
from .push_tokens import UsableTokens, usable_tokens
from .recipients import profile_context, recipient_address

RENDER_FAILED = "Liquid rendering failed"


@dataclass
class Created:
    """What one call added: rows inserted by it, by outcome."""

    rows: int = 0
    skipped: int = 0
    failed: int = 0
    profiles: int = 0  # profiles that got their first row of the dispatch
    # The rows inserted `sending`, attempt started: this run's to hand to the adapter now.
    fresh: list[Delivery] = field(default_factory=list)


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


_FIELDS = [f for f in Delivery._meta.concrete_fields if not f.primary_key]


def rows_existing(*, dispatch: Dispatch, profiles: list[Profile]) -> set[tuple[int, str]]:
    """(profile pk, channel) of the rows these profiles have already (an earlier run's)."""
    if not profiles:
        return set()
    # A range scan of the unique index from the page's lowest to highest pk, not a list
    # of a thousand parameters; the range may hold profiles the page does not.
    page = {profile.pk for profile in profiles}
    return {
        (profile_id, channel)
        for profile_id, channel in Delivery.objects.filter(
            dispatch=dispatch, profile_id__gte=min(page), profile_id__lte=max(page)
        ).values_list("profile_id", "channel")
        if profile_id in page
    }


def rows_insert(rows: list[Delivery], *, copy: bool = False) -> list[Delivery]:
    """Insert `rows`, skipping those whose (dispatch, profile, channel) exists; returns the
    rows really inserted, with their pk set. Must run inside a transaction.

    `copy=True` (PostgreSQL): all of them by COPY, or `sql.Conflict` if one exists (the
    transaction must then be rolled back)."""
    if not rows:
        return []
    if copy:
        sql.copy_insert(Delivery, rows)
        return rows
    by_key = {(row.profile_id, row.channel): row for row in rows}
    inserted = []
    for pk, profile_id, channel in sql.insert_new(
        Delivery,
        [{f.attname: getattr(row, f.attname) for f in _FIELDS} for row in rows],
        conflict_fields=["dispatch", "profile", "channel"],
        returning=["id", "profile_id", "channel"],
    ):
        row = by_key[(profile_id, channel)]
        row.pk = pk
        row._state.adding = False
        inserted.append(row)
    return inserted


def _variation_sent(plan: ChannelPlan) -> None:
    if plan.variation is not None and plan.variation.first_sent_at is None:
        # The variation now has deliveries: campaigns records it (and then refuses to
        # remove it). Once per variation; later chunks and runs see the date set.
        plan.variation.first_sent_at = timezone.now()
        variations_sent(
            campaign_id=plan.variation.campaign_id,
            variation_ids=[plan.variation.pk],
            at=plan.variation.first_sent_at,
        )


def rows_render(
    *, dispatch: Dispatch, plan: ChannelPlan, profiles: list[Profile]
) -> list[Delivery]:
    """The rows of `plan` for `profiles`, rendered and addressed, in memory (not saved)."""
    tokens = (
        usable_tokens(channel=plan.channel, app_id=plan.app_id, profiles=profiles)
        if plan.channel in PUSH_CHANNELS and profiles
        else None
    )
    rows = [_row(dispatch, plan, profile, tokens) for profile in profiles]
    if plan.channel == Channel.EMAIL:
        rows_suppressed(rows)  # hard-bounced and spam-reporting addresses are skipped
    return rows


def rows_create(
    *, dispatch: Dispatch, plan: ChannelPlan, rows: list[Delivery], resolved: set[int]
) -> Created:
    """Insert rendered `rows` of `plan` (rows_render), committed; the pending ones are born
    `sending`, attempt started (see the module docstring). `resolved`: the profiles known
    to have a row of the dispatch already, updated with those that get their first here."""
    created = Created()
    if not rows:
        return created
    now = timezone.now()
    for row in rows:
        row.created_at = row.updated_at = now
        if row.status == Delivery.Status.PENDING:
            row.status, row.attempts, row.attempt_started_at = Delivery.Status.SENDING, 1, now
    try:
        with transaction.atomic():
            return _rows_write(dispatch=dispatch, plan=plan, rows=rows, resolved=resolved,
                               copy=connection.vendor == "postgresql")
    except sql.Conflict:
        # A concurrent run created some of these rows meanwhile: keep theirs.
        for row in rows:
            row.pk = None
            row._state.adding = True
        with transaction.atomic():
            return _rows_write(dispatch=dispatch, plan=plan, rows=rows, resolved=resolved,
                               copy=False)


def _rows_write(*, dispatch: Dispatch, plan: ChannelPlan, rows: list[Delivery],
                resolved: set[int], copy: bool) -> Created:
    created = Created()
    events = []
    inserted = rows_insert(rows, copy=copy)
    # After the insert, which may be rolled back for a retry without COPY: the variation
    # remembers in memory that it was marked.
    _variation_sent(plan)
    for row in inserted:
        if row.status == Delivery.Status.SKIPPED:
            created.skipped += 1
            kind = EngagementEvent.Kind.SKIPPED
        elif row.status == Delivery.Status.FAILED:
            created.failed += 1
            kind = EngagementEvent.Kind.FAILED
        else:
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
    first = {row.profile_id for row in inserted} - resolved
    created.profiles = len(first)
    resolved |= first
    if events:
        engagement_record_many(events=events)
    if created.profiles or created.skipped or created.failed:
        Dispatch.objects.filter(pk=dispatch.pk).update(
            recipients_resolved=F("recipients_resolved") + created.profiles,
            skipped_count=F("skipped_count") + created.skipped,
            failed_count=F("failed_count") + created.failed,
        )
    return created
