"""The delivery side of a dispatch: audience in batches, render, claim, send, record.

`dispatch_run` is safe to run any number of times, concurrently or after a crash:

- delivery rows are unique per (dispatch, profile, channel) and created with
  `ignore_conflicts`, so a second run finds them instead of adding more;
- a row is sent only by the run that moved it from `pending` to `sending` in a locked
  transaction (`select_for_update(skip_locked=True)`), so two runs never send one row;
- the payload is rendered once, when the row is created, and stored on it: a retry sends
  exactly what the first attempt would have.

The audience is walked by primary key in fixed-size pages (keyset pagination), so a
broadcast to millions never sits in memory whole.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from liquid.exceptions import LiquidError

from analytics.selectors import segment_profile_ids
from campaigns.models import Campaign, Channel, MessageVariation
from campaigns.services import variations_sent

from . import liquid
from .audience import audience_matches, audience_needs_python, audience_q
from .channels.base import Outcome, Outgoing, Result
from .channels.registry import adapter_for
from .models import (
    App,
    Delivery,
    Dispatch,
    Profile,
    PushToken,
    SubscriptionState,
    UserAlias,
)
from .services.delivery_events import delivery_events_record

log = logging.getLogger(__name__)

BATCH_SIZE = 500
PUSH_PLATFORMS = {
    Channel.APPLE_PUSH: App.Platform.IOS,
    Channel.ANDROID_PUSH: App.Platform.ANDROID,
    Channel.KINDLE_PUSH: App.Platform.KINDLE,
    Channel.WEB_PUSH: App.Platform.WEB,
}
PUSH_CHANNELS = set(PUSH_PLATFORMS)
# A row a worker claimed (sending) and never finished: the worker died mid-send. Whether
# the provider got it is unknown, so it is failed rather than sent a second time.
ABANDONED_ERROR = "worker lost during send; not retried to avoid a duplicate"


# --- Audience -------------------------------------------------------------------------------


def audience_queryset(dispatch: Dispatch) -> QuerySet[Profile]:
    """The dispatch's profiles, before subscription rules (those are per channel)."""
    audience = dispatch.audience or {}
    profiles = Profile.objects.all()
    if not audience.get("broadcast"):
        query = Q(external_id__in=audience.get("external_user_ids") or [])
        aliases = audience.get("user_aliases") or []
        if aliases:
            alias_query = Q()
            for alias in aliases:
                alias_query |= Q(alias_label=alias["alias_label"], alias_name=alias["alias_name"])
            query |= Q(pk__in=UserAlias.objects.filter(alias_query).values("profile_id"))
        profiles = profiles.filter(query)
    segment_id = audience.get("segment_id")
    if segment_id:
        members = segment_profile_ids(segment_id=segment_id)
        # A segment deleted since the request was accepted: nobody is left to message.
        profiles = profiles.filter(pk__in=members) if members is not None else profiles.none()
    tree = audience.get("filter")
    if tree:
        # Connected Audience: the database filters (a superset when some leaf is a regex or
        # time comparison; audience_batches finishes those per page, see messaging.audience).
        profiles = profiles.filter(audience_q(tree))
    return profiles


def _python_filter(dispatch: Dispatch) -> dict[str, Any] | None:
    tree = (dispatch.audience or {}).get("filter")
    return tree if tree and audience_needs_python(tree) else None


def audience_count(dispatch: Dispatch, profiles: QuerySet[Profile]) -> int:
    """How many profiles the dispatch targets (before per-channel subscription rules)."""
    tree = _python_filter(dispatch)
    if tree is None:
        return profiles.count()
    # Streams only the columns the Python leaves read, in chunks: memory stays flat.
    rows = profiles.only("pk", "custom_attributes", "push_subscribe", "email_subscribe")
    return sum(1 for p in rows.iterator(chunk_size=2000) if audience_matches(tree, p))


def audience_batches(
    profiles: QuerySet[Profile], size: int | None = None, *, tree: dict[str, Any] | None = None
) -> Iterator[list[Profile]]:
    """Pages of profiles by ascending pk (keyset pagination: no OFFSET, no big result set).

    With `tree` (a filter with Python-only leaves) each page is narrowed in Python; the
    keyset moves on from the page as read, so a page may come out smaller, even empty."""
    size = size or BATCH_SIZE
    last_pk = 0
    while True:
        batch = list(profiles.filter(pk__gt=last_pk).order_by("pk")[:size])
        if not batch:
            return
        last_pk = batch[-1].pk
        if tree is not None:
            batch = [profile for profile in batch if audience_matches(tree, profile)]
            if not batch:
                continue
        yield batch


# --- Per-profile context and eligibility ------------------------------------------------------


def _subscribed(state: str, rule: str) -> bool:
    if rule == "all":
        return True
    if rule == "opted_in":
        return state == SubscriptionState.OPTED_IN
    return state in (SubscriptionState.SUBSCRIBED, SubscriptionState.OPTED_IN)


def subscription_groups(profile: Profile) -> dict[str, str]:
    """group id → state. /users/track and /subscription/status/set store a dict; the SMS
    STOP webhook appends to a list of {"subscription_group_id", "subscription_state"} when
    the profile had no groups yet. Both are read; in a list the last entry of a group wins."""
    stored = (profile.standard_extras or {}).get("subscription_groups")
    if isinstance(stored, dict):
        return {str(k): str(v) for k, v in stored.items()}
    groups: dict[str, str] = {}
    for entry in stored if isinstance(stored, list) else []:
        if isinstance(entry, dict) and entry.get("subscription_group_id"):
            groups[str(entry["subscription_group_id"])] = str(entry.get("subscription_state"))
    return groups


def profile_context(
    profile: Profile, *, dispatch: Dispatch, variation: MessageVariation | None
) -> dict[str, Any]:
    """What Liquid sees for one recipient (spec §6)."""
    standard: dict[str, Any] = dict(profile.standard_extras or {})
    standard.update(
        {
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "email_address": profile.email,
            "phone_number": profile.phone,
            "user_id": profile.external_id or "",
            "braze_id": profile.braze_id,
            "city": profile.home_city,
            "country": profile.country,
            "language": profile.language,
            "time_zone": profile.time_zone,
            "gender": profile.gender,
            "date_of_birth": profile.dob.isoformat() if profile.dob else "",
            "random_bucket_number": profile.random_bucket,
        }
    )
    campaign: Campaign | None = dispatch.campaign
    return {
        liquid.STANDARD: standard,
        "custom_attribute": profile.custom_attributes or {},
        "campaign": {
            "api_id": campaign.campaign_id if campaign else "",
            "name": campaign.name if campaign else "",
            "dispatch_id": dispatch.dispatch_id,
            "send_id": dispatch.send_id,
            "message_name": variation.name if variation else "",
            "message_api_id": variation.message_variation_id if variation else "",
        },
        # {{subscribed_state.${email_global}}} and {{subscribed_state.${<group id>}}} (spec §6).
        "subscribed_state": {
            **subscription_groups(profile),
            "email_global": profile.email_subscribe,
        },
    }


def _address(
    profile: Profile,
    plan: _ChannelPlan,
    rule: str,
    tokens: _Tokens | None,
    rendered: dict[str, Any],
) -> tuple[str, str]:
    """(address, reason to skip) for one profile on one channel."""
    channel = plan.channel
    if channel == Channel.EMAIL:
        if not profile.email:
            return "", "no email address"
        if not _subscribed(profile.email_subscribe, rule):
            return "", f"email {profile.email_subscribe}"
        return profile.email, ""
    if channel in PUSH_CHANNELS and tokens is not None:
        if not _subscribed(profile.push_subscribe, rule):
            return "", f"push {profile.push_subscribe}"
        found = tokens.usable.get(profile.pk) or []
        if not found:
            return "", tokens.missing_reason(profile.pk)
        if rendered.get("send_to_most_recent_device_only"):
            found = found[:1]
        # One delivery per profile and channel: every usable token, most recent first.
        return "\n".join(found), ""
    if channel == Channel.SMS:
        if not profile.phone:
            return "", "no phone number"
        group = str(plan.message.get("subscription_group_id") or "")
        # STOP is binding (carrier rules): no recipient_subscription_state overrides it.
        # A profile without a state for the group has not opted out and is sent to.
        if subscription_groups(profile).get(group) == SubscriptionState.UNSUBSCRIBED:
            return "", f"sms subscription group {group} unsubscribed"
        return profile.phone, ""
    if channel == Channel.WEBHOOK:
        return str(rendered.get("url", "")), ""
    return profile.external_id or profile.braze_id, ""


def _canonical_app_id(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


@dataclass
class _Tokens:
    """The push tokens one channel may use, per profile (most recent first)."""

    usable: dict[int, list[str]]
    any_live: set[int]  # profiles with a live token of any app
    wanted: str  # what a usable token belongs to, for the skip reason

    def missing_reason(self, profile_pk: int) -> str:
        if profile_pk not in self.any_live:
            return "no push token"
        return f"no push token of {self.wanted}"


def _push_tokens(plan: _ChannelPlan, profiles: list[Profile]) -> _Tokens:
    """Live tokens of the channel's platform.

    A token whose app is a registered App is usable when that App has the channel's
    platform (and is the message's app, when the message names one). A token of an app_id
    nobody registered (a demo install, tokens tracked before the Apps were set up) is usable
    only while no App of this platform exists: it then goes to the sandbox, which is all
    such an install has. Once the platform has an App, such a token cannot reach that App's
    provider, and sending it to the sandbox would report a delivery that never happened.
    """
    platform = PUSH_PLATFORMS[plan.channel]
    registered = {str(api_id): p for api_id, p in App.objects.values_list("api_id", "platform")}
    platform_has_apps = platform in registered.values()
    named = _canonical_app_id(plan.app_id) if plan.app_id else ""
    only_app = named if registered.get(named) == platform else ""
    usable: dict[int, list[str]] = {}
    any_live: set[int] = set()
    for profile_id, app_id, token in (
        PushToken.objects.filter(profile__in=profiles, invalidated_at__isnull=True)
        .order_by("-created_at", "-pk")
        .values_list("profile_id", "app_id", "token")
    ):
        any_live.add(profile_id)
        app_id = _canonical_app_id(app_id)
        if only_app:
            ok = app_id == only_app
        elif app_id in registered:
            ok = registered[app_id] == platform
        else:
            ok = not platform_has_apps
        if ok:
            usable.setdefault(profile_id, []).append(token)
    label = App.Platform(platform).label
    article = "an" if label[0].upper() in "AEIOU" else "a"
    wanted = f"app {only_app}" if only_app else f"{article} {label} app"
    return _Tokens(usable=usable, any_live=any_live, wanted=wanted)


# --- Recording outcomes -------------------------------------------------------------------------

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
    """Store what the provider answered and the matching engagement events."""
    now = timezone.now()
    if outcome.result == Result.RETRY and not give_up:
        # Release the claim: a later run of the task picks the row up again.
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
        if outcome.invalidate_address and delivery.channel in PUSH_CHANNELS:
            PushToken.objects.filter(
                token__in=delivery.address.split("\n"), invalidated_at__isnull=True
            ).update(invalidated_at=now)


# --- The run ------------------------------------------------------------------------------------


@dataclass
class RunResult:
    retry_pending: int = 0
    finished: bool = False


@dataclass
class _ChannelPlan:
    channel: str
    message: dict[str, Any]
    compiled: liquid.Compiled
    variation: MessageVariation | None
    app_id: str


def _channel_plans(dispatch: Dispatch) -> list[_ChannelPlan]:
    variations = {}
    if dispatch.campaign_id:
        variations = {
            v.message_variation_id: v
            for v in MessageVariation.objects.filter(campaign_id=dispatch.campaign_id)
        }
    plans = []
    for channel, message in (dispatch.messages or {}).items():
        plans.append(
            _ChannelPlan(
                channel=channel,
                message=message,
                # Compiled once per run (the request compiled it once already, to answer 400).
                compiled=liquid.compile_fields(message, field_path=f"messages.{channel}"),
                variation=variations.get(message.get("message_variation_id", "")),
                app_id=str(message.get("app_id", "")),
            )
        )
    return plans


def _create_rows(dispatch: Dispatch, plan: _ChannelPlan, profiles: list[Profile]) -> None:
    have = set(
        Delivery.objects.filter(
            dispatch=dispatch, channel=plan.channel, profile__in=profiles
        ).values_list("profile_id", flat=True)
    )
    todo = [p for p in profiles if p.pk not in have]
    if not todo:
        return
    tokens = _push_tokens(plan, todo) if plan.channel in PUSH_CHANNELS else None
    rows = []
    for profile in todo:
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
            row.status, row.error = (
                Delivery.Status.SKIPPED,
                f"abort_message: {abort.reason}".strip(),
            )
            rows.append(row)
            continue
        except (LiquidError, ValueError, TypeError) as exc:
            row.status, row.error = Delivery.Status.FAILED, f"Liquid rendering failed: {exc}"[:500]
            rows.append(row)
            continue
        row.rendered, row.message_extras = rendered, extras
        address, skip = _address(
            profile, plan, dispatch.recipient_subscription_state, tokens, rendered
        )
        row.address = address
        if skip:
            row.status, row.error = Delivery.Status.SKIPPED, skip
        rows.append(row)
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
        error__startswith="Liquid rendering failed",
    )
    for delivery in failed_renders:
        delivery_events_record(delivery, ("failed",), {"reason": delivery.error})


def _claim(dispatch: Dispatch, plan: _ChannelPlan, profiles: list[Profile]) -> list[Delivery]:
    with transaction.atomic():
        claimed = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                dispatch=dispatch,
                channel=plan.channel,
                profile__in=profiles,
                status=Delivery.Status.PENDING,
            )
            .order_by("pk")
        )
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            status=Delivery.Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
    return claimed


def _deliver(plan: _ChannelPlan, claimed: list[Delivery], give_up: bool) -> int:
    if not claimed:
        return 0
    adapter = adapter_for(plan.channel, plan.app_id)
    items = [
        Outgoing(message_id=d.message_id, address=d.address, payload=d.rendered, app_id=d.app_id)
        for d in claimed
    ]
    try:
        outcomes = adapter.send_batch(items)
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not strand claimed rows
        log.exception("adapter %s failed on a batch", getattr(adapter, "name", plan.channel))
        outcomes = [Outcome(Result.RETRY, f"adapter error: {exc}")] * len(items)
    retry = 0
    for delivery, outcome in zip(claimed, outcomes, strict=True):
        delivery_record_outcome(
            delivery=delivery,
            outcome=outcome,
            provider=getattr(adapter, "name", plan.channel),
            give_up=give_up,
        )
        retry += outcome.result == Result.RETRY and not give_up
    return retry


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
        # delivery rows are created (_create_rows).
        variations_sent(campaign_id=dispatch.campaign_id, at=now)
    try:
        plans = _channel_plans(dispatch)
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
    for batch in audience_batches(profiles, tree=_python_filter(dispatch)):
        for plan in plans:
            _create_rows(dispatch, plan, batch)
            result.retry_pending += _deliver(plan, _claim(dispatch, plan, batch), give_up)
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


def dispatches_stranded(*, older_than: timedelta) -> list[int]:
    """Dispatches still queued after `older_than`: their task was lost (broker down)."""
    return list(
        Dispatch.objects.filter(
            status=Dispatch.Status.QUEUED, created_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)[:1000]
    )


def deliveries_abandoned_fail(*, older_than: timedelta, limit: int = 5000) -> set[int]:
    """Fail rows left in `sending` longer than `older_than`; returns their dispatches' pks.

    The worker that claimed them died mid-send, so whether the provider got the message is
    unknown: failing them may lose one message, resending could deliver it twice. A worker
    that was only slow and answers later still records its real outcome (a final one wins;
    a "retry later" cannot bring the row back, see delivery_record_outcome).
    """
    now = timezone.now()
    dispatch_pks: set[int] = set()
    with transaction.atomic():
        # skip_locked: two sweepers at once split the rows instead of failing them twice.
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.SENDING, updated_at__lt=now - older_than)
            .order_by("pk")[:limit]
        )
        Delivery.objects.filter(
            pk__in=[row.pk for row in rows], status=Delivery.Status.SENDING
        ).update(status=Delivery.Status.FAILED, error=ABANDONED_ERROR, updated_at=now)
        for row in rows:
            delivery_events_record(row, ("failed",), {"reason": ABANDONED_ERROR})
            dispatch_pks.add(row.dispatch_id)
    for dispatch in Dispatch.objects.filter(pk__in=dispatch_pks):
        dispatch_progress_update(dispatch=dispatch)
    if rows:
        log.warning("failed %d deliveries abandoned in sending by a lost worker", len(rows))
    return dispatch_pks


def dispatches_unfinished(*, pks: set[int]) -> list[int]:
    return list(
        Dispatch.objects.filter(pk__in=pks)
        .exclude(status__in=[Dispatch.Status.DONE, Dispatch.Status.FAILED])
        .values_list("pk", flat=True)
    )


def content_card_expiry(message: dict[str, Any], *, now=None):  # type: ignore[no-untyped-def]
    """When a card sent now expires: `expire_at`, or now + `time_to_live` (≤ 30 days)."""
    now = now or timezone.now()
    if message.get("expire_at"):
        value = parse_datetime(str(message["expire_at"]))
        if value is not None:
            return min(value, now + timedelta(days=30))
    ttl = int(message.get("time_to_live") or 30 * 24 * 3600)
    return now + timedelta(seconds=min(ttl, 30 * 24 * 3600))
