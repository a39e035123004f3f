"""Recording what happened. Messaging calls these; they never call messaging.

Every engagement event goes through `engagement_record_many` (the single-event
`engagement_record` is a batch of one), so the benchmark measures the real path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.models import (
    DEFAULT_CONVERSION_WINDOW,
    MAX_CONVERSION_WINDOW,
    Campaign,
    Channel,
    ConversionEvent,
    MessageVariation,
)
from config.sql import insert_new, rollup_add

from .models import (
    ACTIVITY_ROLLUP_COUNTERS,
    ACTIVITY_ROLLUP_KEY,
    CAMPAIGN_ROLLUP_COUNTERS,
    ROLLUP_COUNTERS,
    ActiveDay,
    ActivityRollup,
    AppVersionSeen,
    CampaignDayRollup,
    CampaignMark,
    Conversion,
    CustomEvent,
    DailyRollup,
    EngagementEvent,
    Purchase,
    Segment,
    SegmentMember,
    UniqueMark,
)
from .selectors import retargeting_profile_ids

Kind = EngagementEvent.Kind

# Which rollup counter an event kind adds to, and which uniqueness ledger it feeds.
KIND_COUNTER: dict[str, str] = {
    Kind.SENT: "sent",
    Kind.DELIVERED: "delivered",
    Kind.BOUNCE_HARD: "bounce_hard",
    Kind.BOUNCE_SOFT: "bounce_soft",
    Kind.FAILED: "failed",
    Kind.OPEN: "opens",
    Kind.MACHINE_OPEN: "machine_opens",
    Kind.CLICK: "clicks",
    Kind.UNSUBSCRIBE: "unsubscribes",
    Kind.IMPRESSION: "impressions",
    Kind.DISMISSAL: "dismissals",
    Kind.DIRECT_OPEN: "direct_opens",
    Kind.REPORTED_SPAM: "reported_spam",
    Kind.OPT_OUT: "opt_outs",
    Kind.HELP: "helps",
    Kind.SKIPPED: "skipped",
    Kind.SANDBOXED: "sandboxed",
}
KIND_UNIQUE: dict[str, str] = {
    Kind.SENT: "recipients",
    Kind.OPEN: "opens",
    Kind.CLICK: "clicks",
    Kind.IMPRESSION: "impressions",
    Kind.DISMISSAL: "dismissals",
}
ROLLUP_KEY = ("campaign", "variation", "send_id", "day")
CAMPAIGN_ROLLUP_KEY = ("campaign", "send_id", "day")


def _unique_metrics(kind: str, channel: str) -> tuple[str, ...]:
    """The uniqueness ledgers an event feeds.

    Spec §1.8: a "recipient" is a user who was sent the message (push, email, SMS,
    webhook) but, for Content Cards, a user who *viewed* the card. So a card's `sent`
    makes nobody a recipient and its first impression does; the same rule opens the
    conversion window (`_WINDOW_OPENERS`).
    """
    if channel == Channel.CONTENT_CARD:
        if kind == Kind.SENT:
            return ()
        if kind == Kind.IMPRESSION:
            return ("impressions", "recipients")
    metric = KIND_UNIQUE.get(kind)
    return (metric,) if metric else ()


# The events that make a profile a recipient and start its conversion windows (§1.8).
_WINDOW_OPENERS = (
    (Q(kind=Kind.SENT) & ~Q(channel=Channel.CONTENT_CARD))
    | Q(kind=Kind.IMPRESSION, channel=Channel.CONTENT_CARD)
)

RollupKey = tuple[int, int, str, date]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _bucket_scope(day: date, send_id: str) -> str:
    return f"{day.isoformat()}|{send_id}"


@dataclass
class _Deltas:
    """Counter increments per rollup bucket, collected before one upsert."""

    rows: dict[RollupKey, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, key: RollupKey, counter: str, amount: Any = 1) -> None:
        row = self.rows[key]
        row[counter] = row.get(counter, 0) + amount

    def flush(self) -> None:
        rollup_add(DailyRollup, dict(self.rows), key_fields=ROLLUP_KEY, counters=ROLLUP_COUNTERS)
        self.rows.clear()


@dataclass
class _CampaignDeltas(_Deltas):
    """The same, for the campaign-wide rows keyed (campaign, send_id, day)."""

    def flush(self) -> None:
        rollup_add(CampaignDayRollup, dict(self.rows), key_fields=CAMPAIGN_ROLLUP_KEY,
                   counters=CAMPAIGN_ROLLUP_COUNTERS)
        self.rows.clear()


def _campaign_scopes(day: date, send_id: str) -> list[tuple[str, str, str]]:
    """(mark scope, rollup send_id, counter) for a campaign recipient on `day`."""
    scopes = [("", "", "first_recipients"), (day.isoformat(), "", "unique_recipients")]
    if send_id:
        scopes += [(f"|{send_id}", send_id, "first_recipients"),
                   (_bucket_scope(day, send_id), send_id, "unique_recipients")]
    return scopes


def engagement_record_many(*, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record many engagement events at once; return the new ones (as dicts, with "id").

    Each dict takes the keyword arguments of `engagement_record`. An event whose
    `dedupe_key` was already recorded (or repeats within the batch) is skipped, and only
    new events move the rollups, so delivering a batch twice changes nothing.
    """
    now = timezone.now()
    pending: dict[str, dict[str, Any]] = {}
    for data in events:
        key = data["dedupe_key"]
        if key in pending:
            continue
        pending[key] = {
            "kind": data["kind"], "channel": data["channel"], "dedupe_key": key,
            "campaign_id": data.get("campaign_id"), "variation_id": data.get("variation_id"),
            "send_id": data.get("send_id") or "", "dispatch_id": data.get("dispatch_id"),
            "delivery_id": data.get("delivery_id"), "profile_id": data.get("profile_id"),
            "occurred_at": data.get("occurred_at") or now,
            "properties": data.get("properties") or {},
        }
    if not pending:
        return []

    with transaction.atomic():
        # TRICKY: rows go in key order, so two workers inserting overlapping batches wait
        # on each other in the same order instead of deadlocking on the unique indexes.
        inserted = insert_new(EngagementEvent, [pending[k] for k in sorted(pending)],
                              conflict_fields=["dedupe_key"], returning=["id", "dedupe_key"])
        new_events = []
        for pk, dedupe_key in inserted:
            event = pending[dedupe_key]
            event["id"] = pk
            new_events.append(event)
        _rollup_events(new_events)
    return new_events


def _rollup_events(events: list[dict[str, Any]]) -> None:
    deltas = _Deltas()
    marks: list[dict[str, Any]] = []
    mark_buckets: dict[tuple[int, int, str, str], tuple[RollupKey, str]] = {}
    campaign_marks: list[dict[str, Any]] = []
    campaign_buckets: dict[tuple[int, int, str], tuple[tuple[int, str, date], str]] = {}
    for event in events:
        campaign_id, variation_id = event["campaign_id"], event["variation_id"]
        if campaign_id is None or variation_id is None:
            continue  # not reported on any campaign (spec §1.2)
        key: RollupKey = (campaign_id, variation_id, event["send_id"],
                          _day(event["occurred_at"]))
        counter = KIND_COUNTER.get(event["kind"])
        if counter:
            deltas.add(key, counter)
        profile_id = event["profile_id"]
        if profile_id is None:
            continue
        for metric in _unique_metrics(event["kind"], event["channel"]):
            for scope, prefix in (("", "first_"), (_bucket_scope(key[3], key[2]), "unique_")):
                mark_key = (variation_id, profile_id, metric, scope)
                if mark_key not in mark_buckets:
                    mark_buckets[mark_key] = (key, prefix + metric)
                    marks.append({"variation_id": variation_id, "profile_id": profile_id,
                                  "metric": metric, "scope": scope})
            if metric != "recipients":
                continue
            # Campaign-wide: one recipient however many of its variations reached them.
            for scope, send_key, counter in _campaign_scopes(key[3], key[2]):
                campaign_key = (campaign_id, profile_id, scope)
                if campaign_key not in campaign_buckets:
                    campaign_buckets[campaign_key] = ((campaign_id, send_key, key[3]), counter)
                    campaign_marks.append({"campaign_id": campaign_id,
                                           "profile_id": profile_id, "scope": scope})
    marks.sort(key=lambda m: (m["variation_id"], m["profile_id"], m["metric"], m["scope"]))
    for mark_key in insert_new(
        UniqueMark, marks, conflict_fields=["variation", "profile", "metric", "scope"],
        returning=["variation", "profile", "metric", "scope"],
    ):
        key, counter = mark_buckets[tuple(mark_key)]
        deltas.add(key, counter)
    deltas.flush()
    if campaign_marks:
        campaign_deltas = _CampaignDeltas()
        campaign_marks.sort(key=lambda m: (m["campaign_id"], m["profile_id"], m["scope"]))
        for mark_key in insert_new(
            CampaignMark, campaign_marks, conflict_fields=["campaign", "profile", "scope"],
            returning=["campaign", "profile", "scope"],
        ):
            bucket, counter = campaign_buckets[tuple(mark_key)]
            campaign_deltas.add(bucket, counter)
        campaign_deltas.flush()


def engagement_record(
    *,
    kind: str,
    channel: str,
    dedupe_key: str,
    campaign_id: int | None = None,
    variation_id: int | None = None,
    send_id: str = "",
    dispatch_id: int | None = None,
    delivery_id: int | None = None,
    profile_id: int | None = None,
    occurred_at: datetime | None = None,
    properties: dict[str, Any] | None = None,
) -> EngagementEvent | None:
    """Record one engagement event; return None when it was already recorded.

    IDs are primary keys of the rows concerned (internal; never shown to users).
    """
    recorded = engagement_record_many(events=[{
        "kind": kind, "channel": channel, "dedupe_key": dedupe_key,
        "campaign_id": campaign_id, "variation_id": variation_id, "send_id": send_id,
        "dispatch_id": dispatch_id, "delivery_id": delivery_id, "profile_id": profile_id,
        "occurred_at": occurred_at, "properties": properties,
    }])
    if not recorded:
        return None
    event = EngagementEvent(**recorded[0])
    event._state.adding = False
    event._state.db = "default"
    return event


# --- Conversions ------------------------------------------------------------------------
#
# Custom events, purchases and app sessions are recorded in batches (one /users/track
# request, one SDK upload): a fixed handful of queries whatever the batch size. The
# single-object functions are batches of one, so every test of them covers the batch path.


@dataclass(frozen=True)
class _Send:
    campaign_id: int
    variation_id: int
    channel: str
    send_id: str
    sent_at: datetime


@dataclass(frozen=True)
class _Action:
    """One user action that may convert: who, when, and what it is called in `source`."""

    profile_id: int
    time: datetime
    source: str


def _recent_sends_many(*, actions: list[_Action], campaign_ids: Iterable[int] | None = None
                       ) -> dict[int, list[_Send]]:
    """Per profile, the messages it received in the 30 days before its earliest action up
    to its latest one, newest first, in one query.

    "Received" is `_WINDOW_OPENERS`: sent, or for a Content Card, viewed (spec §1.8).
    Each action then keeps the sends inside its own 30 days (`_sends_before`).
    """
    first: dict[int, datetime] = {}
    last: dict[int, datetime] = {}
    for action in actions:
        pid = action.profile_id
        first[pid] = min(first.get(pid, action.time), action.time)
        last[pid] = max(last.get(pid, action.time), action.time)
    if not first:
        return {}
    # One span per profile would need one OR-term each; one overall span bounded per row
    # by the profile filter is as selective for the batches /users/track sends.
    rows = EngagementEvent.objects.filter(
        _WINDOW_OPENERS, profile_id__in=sorted(first), variation__isnull=False,
        campaign__isnull=False, occurred_at__lte=max(last.values()),
        occurred_at__gte=min(first.values()) - MAX_CONVERSION_WINDOW,
    )
    if campaign_ids is not None:
        rows = rows.filter(campaign_id__in=list(campaign_ids))
    sends: dict[int, list[_Send]] = defaultdict(list)
    for profile_id, *row in rows.order_by("-occurred_at", "-id").values_list(
            "profile_id", "campaign_id", "variation_id", "channel", "send_id", "occurred_at"):
        if first[profile_id] - MAX_CONVERSION_WINDOW <= row[-1] <= last[profile_id]:
            sends[profile_id].append(_Send(*row))
    return sends


def _sends_before(sends: dict[int, list[_Send]], action: _Action) -> list[_Send]:
    """The sends of `action`'s profile at most 30 days before it (both edges included)."""
    return [s for s in sends.get(action.profile_id, ())
            if action.time - MAX_CONVERSION_WINDOW <= s.sent_at <= action.time]


def _as_row(obj: Conversion) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields
            if not f.primary_key}


def _conversion_candidates(*, action: _Action, sends: list[_Send],
                           conversion_events: Iterable[ConversionEvent]) -> list[Conversion]:
    """The conversions one action would earn, before uniqueness.

    For each matching conversion event, and each channel of its campaign the profile was
    sent within the event's window (`sent_at <= time <= sent_at + window`, both edges
    included), one conversion goes to the most recent message on that channel.
    """
    candidates: list[Conversion] = []
    for conversion_event in conversion_events:
        seen_channels: set[str] = set()
        for send in sends:
            if send.campaign_id != conversion_event.campaign_id or send.channel in seen_channels:
                continue
            seen_channels.add(send.channel)  # newest message per channel only
            if action.time - send.sent_at > conversion_event.window:
                continue
            candidates.append(Conversion(
                campaign_id=send.campaign_id, conversion_event=conversion_event,
                position=conversion_event.position, variation_id=send.variation_id,
                channel=send.channel, send_id=send.send_id, profile_id=action.profile_id,
                sent_at=send.sent_at, converted_at=action.time, source=action.source[:300],
            ))
    return candidates


def _conversions_insert(candidates: list[Conversion], deltas: _Deltas) -> list[Conversion]:
    """Insert the conversions not counted yet and add them to `deltas`; return the new ones.

    Once per profile, conversion event and channel: the first candidate in batch order
    wins within the batch, and the unique constraint makes an action already counted
    (an earlier request, a retry, a concurrent worker) count nothing.
    """
    first: dict[tuple[int, int, str], Conversion] = {}
    for candidate in candidates:
        first.setdefault((candidate.conversion_event_id, candidate.profile_id,
                          candidate.channel), candidate)
    if not first:
        return []
    # TRICKY: rows go in key order, so overlapping batches lock the unique index in the
    # same order and wait for each other instead of deadlocking.
    ordered = [first[key] for key in sorted(first)]
    inserted = {tuple(row) for row in insert_new(
        Conversion, [_as_row(c) for c in ordered],
        conflict_fields=["conversion_event", "profile", "channel"],
        returning=["conversion_event", "profile", "channel"],
    )}
    new = [c for c in ordered if (c.conversion_event_id, c.profile_id, c.channel) in inserted]
    for conversion in new:
        name = "conversions" if conversion.position == 0 else f"conversions{conversion.position}"
        deltas.add((conversion.campaign_id, conversion.variation_id, conversion.send_id,
                    _day(conversion.converted_at)), name)
        deltas.add((conversion.campaign_id, conversion.variation_id, conversion.send_id,
                    _day(conversion.sent_at)), f"{name}_by_send_time")
    return new


def _actions_convert(matched: list[tuple[_Action, list[ConversionEvent]]]) -> list[Conversion]:
    """Count the conversions of many actions, each with the conversion events it matches:
    one query for what the profiles received, one insert, one rollup upsert."""
    matched = [(action, events) for action, events in matched if events]
    if not matched:
        return []
    sends = _recent_sends_many(actions=[action for action, _ in matched],
                               campaign_ids={e.campaign_id for _, es in matched for e in es})
    candidates: list[Conversion] = []
    for action, conversion_events in matched:
        candidates += _conversion_candidates(action=action, sends=_sends_before(sends, action),
                                             conversion_events=conversion_events)
    deltas = _Deltas()
    new = _conversions_insert(candidates, deltas)
    deltas.flush()
    return new


def _activity_add(kind: str, rows: list[tuple[int, datetime, str, str, int, Decimal]]) -> None:
    """Count (profile, time, app_id, name, quantity, revenue) rows into the activity
    rollups and mark their profiles active on those days: two statements per batch."""
    deltas: dict[tuple[date, str, str, str], dict[str, Any]] = defaultdict(dict)
    active: set[tuple[int, date]] = set()
    for profile_id, moment, app_id, name, quantity, revenue in rows:
        day = _day(moment)
        bucket = deltas[(day, kind, app_id[:64], name)]
        bucket["count"] = bucket.get("count", 0) + 1
        bucket["quantity"] = bucket.get("quantity", 0) + quantity
        bucket["revenue"] = bucket.get("revenue", 0) + revenue
        active.add((profile_id, day))
    rollup_add(ActivityRollup, dict(deltas), key_fields=ACTIVITY_ROLLUP_KEY,
               counters=ACTIVITY_ROLLUP_COUNTERS)
    ActiveDay.objects.bulk_create([ActiveDay(profile_id=p, day=d) for p, d in sorted(active)],
                                  ignore_conflicts=True)


def custom_events_record(*, events: list[dict[str, Any]]) -> list[CustomEvent]:
    """Record custom events from /users/track and count the conversions they earn.

    Each dict takes the keyword arguments of `custom_event_record`; the events count in
    list order (the first of two matching actions converts). Five queries at most,
    whatever the number of events.
    """
    if not events:
        return []
    with transaction.atomic():
        created = CustomEvent.objects.bulk_create([
            CustomEvent(profile_id=e["profile_id"], name=e["name"], time=e["time"],
                        properties=e.get("properties") or {}, app_id=e.get("app_id") or "")
            for e in events
        ])
        _activity_add(ActivityRollup.Kind.EVENT, [
            (e["profile_id"], e["time"], e.get("app_id") or "", e["name"], 1, Decimal(0))
            for e in events])
        by_name: dict[str, list[ConversionEvent]] = defaultdict(list)
        for conversion_event in ConversionEvent.objects.filter(
                kind=ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                custom_event_name__in={e["name"] for e in events}):
            by_name[conversion_event.custom_event_name].append(conversion_event)
        if by_name:
            _actions_convert([
                (_Action(e["profile_id"], e["time"], f"custom_event:{e['name']}"),
                 by_name.get(e["name"], []))
                for e in events
            ])
    return created


def custom_event_record(
    *, profile_id: int, name: str, time: datetime, properties: dict[str, Any] | None = None,
    app_id: str = "",
) -> CustomEvent:
    """Record one custom event and count the conversions it earns (a batch of one)."""
    return custom_events_record(events=[{
        "profile_id": profile_id, "name": name, "time": time, "properties": properties,
        "app_id": app_id,
    }])[0]


def purchases_record(*, purchases: list[dict[str, Any]]) -> list[Purchase]:
    """Record purchases (each as `quantity` rows of quantity 1, spec §3.4), the conversions
    they earn, and their revenue.

    Each dict takes the keyword arguments of `purchase_record`. Revenue (price × quantity)
    goes to every campaign whose primary window covers the purchase, on the last message
    of that campaign the profile received (spec §5.3). Five queries at most.
    """
    if not purchases:
        return []
    with transaction.atomic():
        created = Purchase.objects.bulk_create([
            Purchase(profile_id=p["profile_id"], product_id=p["product_id"],
                     currency=p["currency"], price=p["price"], time=p["time"],
                     properties=p.get("properties") or {}, app_id=p.get("app_id") or "")
            for p in purchases for _ in range(p["quantity"])
        ])
        _activity_add(ActivityRollup.Kind.PURCHASE, [
            (p["profile_id"], p["time"], p.get("app_id") or "", p["product_id"], p["quantity"],
             Decimal(str(p["price"])) * p["quantity"]) for p in purchases])
        actions = [_Action(p["profile_id"], p["time"], f"purchase:{p['product_id']}")
                   for p in purchases]
        # Revenue needs every campaign received, so this query is not narrowed first.
        sends = _recent_sends_many(actions=actions)
        if not sends:
            return created
        product_ids = {p["product_id"] for p in purchases}
        matching: list[ConversionEvent] = []
        windows: dict[int, timedelta] = {}
        for conversion_event in ConversionEvent.objects.filter(
            Q(campaign_id__in={s.campaign_id for ss in sends.values() for s in ss}),
            Q(kind=ConversionEvent.Kind.MAKES_ANY_PURCHASE)
            | Q(kind=ConversionEvent.Kind.MAKES_SPECIFIC_PURCHASE, product_id__in=product_ids)
            | Q(position=0),
        ):
            if conversion_event.position == 0:
                windows[conversion_event.campaign_id] = conversion_event.window
            if (conversion_event.kind == ConversionEvent.Kind.MAKES_ANY_PURCHASE
                    or conversion_event.kind == ConversionEvent.Kind.MAKES_SPECIFIC_PURCHASE):
                matching.append(conversion_event)
        deltas = _Deltas()
        candidates: list[Conversion] = []
        for purchase, action in zip(purchases, actions, strict=True):
            received = _sends_before(sends, action)
            candidates += _conversion_candidates(action=action, sends=received, conversion_events=[
                e for e in matching if e.kind == ConversionEvent.Kind.MAKES_ANY_PURCHASE
                or e.product_id == purchase["product_id"]])
            amount = Decimal(str(purchase["price"])) * purchase["quantity"]
            credited: set[int] = set()
            for send in received:  # newest first: the last message received gets the credit
                if send.campaign_id in credited:
                    continue
                credited.add(send.campaign_id)
                if action.time - send.sent_at <= windows.get(send.campaign_id,
                                                             DEFAULT_CONVERSION_WINDOW):
                    deltas.add((send.campaign_id, send.variation_id, send.send_id,
                                _day(action.time)), "revenue", amount)
        _conversions_insert(candidates, deltas)
        deltas.flush()
    return created


def purchase_record(
    *, profile_id: int, product_id: str, currency: str, price, quantity: int, time: datetime,
    properties: dict[str, Any] | None = None, app_id: str = "",
) -> list[Purchase]:
    """Record one purchase (a batch of one); see `purchases_record`."""
    return purchases_record(purchases=[{
        "profile_id": profile_id, "product_id": product_id, "currency": currency,
        "price": price, "quantity": quantity, "time": time, "properties": properties,
        "app_id": app_id,
    }])


def _is_upgrade(old: str, new: str) -> bool:
    """Numeric versions compare part by part; any other change counts (spec §1.8)."""
    try:
        old_parts = [int(p) for p in old.split(".")]
        new_parts = [int(p) for p in new.split(".")]
    except ValueError:
        return old != new
    return new_parts > old_parts


def _app_versions_advance(sessions: list[dict[str, Any]]) -> list[bool]:
    """Move each (profile, app)'s last version through the sessions in order; return,
    per session, whether it upgraded the app. One locking read, two writes at most."""
    pairs = {(s["profile_id"], s.get("app_id") or "") for s in sessions if s.get("app_version")}
    if not pairs:
        return [False] * len(sessions)
    where = Q()
    for profile_id, app_id in sorted(pairs):
        where |= Q(profile_id=profile_id, app_id=app_id)
    existing = {(row.profile_id, row.app_id): row for row in
                AppVersionSeen.objects.select_for_update().filter(where).order_by("pk")}
    current = {pair: row.version for pair, row in existing.items()}
    upgraded: list[bool] = []
    for session in sessions:
        version = session.get("app_version") or ""
        pair = (session["profile_id"], session.get("app_id") or "")
        old = current.get(pair)
        upgraded.append(bool(version) and old is not None and old != version
                        and _is_upgrade(old, version))
        if version:
            current[pair] = version
    now = timezone.now()  # bulk_update skips auto_now
    changed = [AppVersionSeen(pk=row.pk, profile_id=pair[0], app_id=pair[1],
                              version=current[pair], updated_at=now)
               for pair, row in sorted(existing.items()) if current[pair] != row.version]
    if changed:
        AppVersionSeen.objects.bulk_update(changed, ["version", "updated_at"])
    new = [AppVersionSeen(profile_id=pair[0], app_id=pair[1], version=current[pair])
           for pair in sorted(pairs - set(existing))]
    if new:
        AppVersionSeen.objects.bulk_create(new, ignore_conflicts=True)
    return upgraded


def app_sessions_record(*, sessions: list[dict[str, Any]]) -> list[Conversion]:
    """App sessions (and maybe new app versions) reported for profiles, in order.

    Each dict takes the keyword arguments of `app_session_record`. Counts "Starts
    Session" conversions, and "Upgrades App" ones when the version moved up since the
    last one seen for that app; returns the new conversions.
    """
    if not sessions:
        return []
    with transaction.atomic():
        _activity_add(ActivityRollup.Kind.SESSION, [
            (s["profile_id"], s["time"], s.get("app_id") or "", "", 1, Decimal(0))
            for s in sessions])
        upgraded = _app_versions_advance(sessions)
        kinds = [ConversionEvent.Kind.STARTS_SESSION]
        if any(upgraded):
            kinds.append(ConversionEvent.Kind.UPGRADES_APP)
        conversion_events = list(ConversionEvent.objects.filter(kind__in=kinds))
        if not conversion_events:
            return []
        starts = [e for e in conversion_events if e.kind == ConversionEvent.Kind.STARTS_SESSION]
        return _actions_convert([
            (_Action(s["profile_id"], s["time"], "upgrade" if up else "session"),
             conversion_events if up else starts)
            for s, up in zip(sessions, upgraded, strict=True)
        ])


def app_session_record(*, profile_id: int, time: datetime, app_id: str = "",
                       app_version: str = "") -> list[Conversion]:
    """One app session (a batch of one); see `app_sessions_record`."""
    return app_sessions_record(sessions=[{"profile_id": profile_id, "time": time,
                                          "app_id": app_id, "app_version": app_version}])


# --- Segments ---------------------------------------------------------------------------


def segment_create_from_results(
    *,
    campaign: Campaign,
    behavior: str,
    variation: MessageVariation | None = None,
    name: str = "",
    created_by=None,
) -> Segment:
    """Store the profiles that received/opened/clicked/converted (or not) as a segment."""
    if behavior not in Segment.Behavior.values:
        raise ValueError(f"unknown behavior {behavior!r}")
    if variation is not None and variation.campaign_id != campaign.pk:
        raise ValueError("the variation belongs to another campaign")
    label = Segment.Behavior(behavior).label
    default_name = f"{label}: {campaign.name}" + (f" · {variation.name}" if variation else "")
    with transaction.atomic():
        segment = Segment(
            name=(name.strip() or default_name)[:200],
            description=f"{label} — campaign “{campaign.name}”"
                        + (f", variation {variation}" if variation else ", all variations"),
            source=Segment.Source.RETARGETING, source_campaign=campaign,
            source_variation=variation, behavior=behavior, created_by=created_by,
        )
        segment.full_clean()
        segment.save()
        ids = retargeting_profile_ids(campaign=campaign, variation=variation, behavior=behavior)
        batch: list[SegmentMember] = []
        size = 0
        for profile_id in ids.iterator(chunk_size=5000):
            batch.append(SegmentMember(segment=segment, profile_id=profile_id))
            if len(batch) >= 5000:
                SegmentMember.objects.bulk_create(batch)
                size += len(batch)
                batch = []
        SegmentMember.objects.bulk_create(batch)
        size += len(batch)
        segment.size = size
        segment.save(update_fields=["size", "updated_at"])
    return segment



# --- Profile merge ----------------------------------------------------------------------


def _take_back_first(model: type, key_fields: tuple[str, ...], candidates: list[tuple],
                     counter: str, deltas: _Deltas) -> None:
    """Take one back from the `counter` of the earliest candidate bucket still above zero.

    A dropped lifetime mark had bumped the `first_*` counter of the bucket where it was
    first inserted: the profile's earliest bucket when events are recorded in time order,
    a later one otherwise. Skipping buckets already at zero keeps every day's counter
    from going negative; the campaign's total is right either way.
    """
    if not candidates:
        return
    where = Q()
    for key in candidates:
        where |= Q(**dict(zip(key_fields, key, strict=True)))
    current = {tuple(row[:-1]): row[-1] for row in
               model.objects.filter(where).values_list(*key_fields, counter)}
    for key in sorted(candidates, key=lambda k: (k[-1], k)):
        planned = deltas.rows.get(key, {}).get(counter, 0)
        if current.get(key, 0) + planned > 0:
            deltas.add(key, counter, -1)
            return


def _marks_merge(*, source: int, target: int) -> None:
    rows = list(UniqueMark.objects.filter(profile_id=source)
                .values_list("variation_id", "metric", "scope"))
    if not rows:
        return
    moved = {tuple(r) for r in insert_new(
        UniqueMark, [{"variation_id": v, "profile_id": target, "metric": m, "scope": s}
                     for v, m, s in sorted(rows)],
        conflict_fields=["variation", "profile", "metric", "scope"],
        returning=["variation", "profile", "metric", "scope"],
    )}
    dropped = [(v, m, s) for v, m, s in rows if (v, target, m, s) not in moved]
    UniqueMark.objects.filter(profile_id=source).delete()
    if not dropped:
        return
    campaigns = dict(MessageVariation.objects.filter(pk__in={v for v, _, _ in dropped})
                     .values_list("pk", "campaign_id"))

    def bucket(variation_id: int, scope: str) -> RollupKey:
        day, _, send_id = scope.partition("|")
        return (campaigns[variation_id], variation_id, send_id, date.fromisoformat(day))

    deltas = _Deltas()
    for variation_id, metric, scope in dropped:
        if scope:  # one bucket: its daily unique counter
            deltas.add(bucket(variation_id, scope), f"unique_{metric}", -1)
    for variation_id, metric, scope in dropped:
        if not scope:  # lifetime: the first_* counter of one of the source's buckets
            candidates = [bucket(v, s) for v, m, s in rows
                          if v == variation_id and m == metric and s]
            _take_back_first(DailyRollup, ("campaign_id", "variation_id", "send_id", "day"),
                             candidates, f"first_{metric}", deltas)
    deltas.flush()


def _campaign_marks_merge(*, source: int, target: int) -> None:
    rows = list(CampaignMark.objects.filter(profile_id=source).values_list("campaign_id", "scope"))
    if not rows:
        return
    moved = {tuple(r) for r in insert_new(
        CampaignMark, [{"campaign_id": c, "profile_id": target, "scope": s}
                       for c, s in sorted(rows)],
        conflict_fields=["campaign", "profile", "scope"], returning=["campaign", "scope"],
    )}
    CampaignMark.objects.filter(profile_id=source).delete()

    def bucket(campaign_id: int, scope: str) -> tuple[int, str, date]:
        day, _, send_id = scope.partition("|")
        return (campaign_id, send_id, date.fromisoformat(day))

    dropped = [(c, s) for c, s in rows if (c, s) not in moved]
    deltas = _CampaignDeltas()
    for campaign_id, scope in dropped:
        if scope and not scope.startswith("|"):  # "<day>" or "<day>|<send_id>"
            deltas.add(bucket(campaign_id, scope), "unique_recipients", -1)
    for campaign_id, scope in dropped:
        if not scope or scope.startswith("|"):  # lifetime of the campaign, or of one send
            send_id = scope[1:]
            candidates = [bucket(c, s) for c, s in rows if c == campaign_id and s
                          and not s.startswith("|") and s.partition("|")[2] == send_id]
            _take_back_first(CampaignDayRollup, ("campaign_id", "send_id", "day"),
                             candidates, "first_recipients", deltas)
    deltas.flush()


def _conversions_merge(*, source: int, target: int) -> None:
    conversions = list(Conversion.objects.filter(profile_id=source))
    if not conversions:
        return
    rows = [{**_as_row(c), "profile_id": target} for c in conversions]
    moved = set(insert_new(Conversion, rows,
                           conflict_fields=["conversion_event", "profile", "channel"],
                           returning=["conversion_event", "channel"]))
    Conversion.objects.filter(profile_id=source).delete()
    deltas = _Deltas()
    for c in conversions:
        if (c.conversion_event_id, c.channel) in moved:
            continue
        # The target converted on this event and channel too: one user, one conversion.
        name = "conversions" if c.position == 0 else f"conversions{c.position}"
        deltas.add((c.campaign_id, c.variation_id, c.send_id, _day(c.converted_at)), name, -1)
        deltas.add((c.campaign_id, c.variation_id, c.send_id, _day(c.sent_at)),
                   f"{name}_by_send_time", -1)
    deltas.flush()


def _segment_members_merge(*, source: int, target: int) -> None:
    segment_ids = sorted(SegmentMember.objects.filter(profile_id=source)
                         .values_list("segment_id", flat=True))
    if not segment_ids:
        return
    moved = {segment_id for (segment_id,) in insert_new(
        SegmentMember, [{"segment_id": s, "profile_id": target} for s in segment_ids],
        conflict_fields=["segment", "profile"], returning=["segment"],
    )}
    SegmentMember.objects.filter(profile_id=source).delete()
    both = [s for s in segment_ids if s not in moved]
    if both:  # two members became one
        Segment.objects.filter(pk__in=both).update(size=F("size") - 1,
                                                   updated_at=timezone.now())


def _app_versions_merge(*, source: int, target: int) -> None:
    rows = [{"profile_id": target, "app_id": app_id, "version": version, "updated_at": at}
            for app_id, version, at in AppVersionSeen.objects.filter(profile_id=source)
            .order_by("app_id").values_list("app_id", "version", "updated_at")]
    insert_new(AppVersionSeen, rows, conflict_fields=["profile", "app_id"], returning=["id"])
    AppVersionSeen.objects.filter(profile_id=source).delete()


def _active_days_merge(*, source: int, target: int) -> None:
    days = list(ActiveDay.objects.filter(profile_id=source).values_list("day", flat=True))
    ActiveDay.objects.bulk_create([ActiveDay(profile_id=target, day=d) for d in sorted(days)],
                                  ignore_conflicts=True)
    ActiveDay.objects.filter(profile_id=source).delete()


def profile_merge_analytics(*, source_profile_id: int, target_profile_id: int) -> None:
    """Move a profile's analytics onto the profile it is folded into (POST /users/identify).

    Call it before the source profile is deleted (its rows would go with it). Moved:
    uniqueness marks, campaign recipient marks, conversions, segment memberships and
    last app versions. Where the target already holds the same key, the target's row is
    kept and the source's dropped, and the counter that the dropped row had added is
    taken back, so the rollups count the merged user once: unique and first-time
    counters, conversions. Raw counters (sends, opens, revenue) stay: those messages
    were really sent, opened, paid.
    """
    if source_profile_id == target_profile_id:
        return
    source, target = source_profile_id, target_profile_id
    with transaction.atomic():
        _marks_merge(source=source, target=target)
        _campaign_marks_merge(source=source, target=target)
        _conversions_merge(source=source, target=target)
        _segment_members_merge(source=source, target=target)
        _app_versions_merge(source=source, target=target)
        _active_days_merge(source=source, target=target)
