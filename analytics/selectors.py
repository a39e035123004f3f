"""Reads of analytics: results, series, segments. Results read rollups, never raw events."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum

from campaigns.models import PUSH_CHANNELS, Campaign, Channel, ConversionEvent, MessageVariation

from .models import (
    ROLLUP_COUNTERS,
    CampaignDayRollup,
    Conversion,
    DailyRollup,
    EngagementEvent,
    Segment,
    SegmentMember,
    UniqueMark,
)


def segment_profile_ids(*, segment_id: str) -> QuerySet | None:
    """Primary keys of the profiles in a segment, or None when no such segment exists."""
    segment = Segment.objects.filter(segment_id=str(segment_id)).only("pk").first()
    if segment is None:
        return None
    return SegmentMember.objects.filter(segment=segment).values_list("profile_id", flat=True)


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("source_campaign", "source_variation", "created_by")


def segment_get(*, segment_id: str) -> Segment | None:
    return Segment.objects.filter(segment_id=str(segment_id)).first()


def retargeting_profile_ids(
    *, campaign: Campaign, variation: MessageVariation | None, behavior: str
) -> QuerySet:
    """Profiles of a campaign (or one variation) by what they did, for a segment.

    Reads the uniqueness ledger (one row per profile per variation and metric) and the
    conversions, so it stays exact without scanning raw events.
    """
    variations = [variation.pk] if variation else list(
        campaign.variations.values_list("pk", flat=True))
    metric = {"received": "recipients", "opened": "opens", "clicked": "clicks"}.get(behavior)
    marks = UniqueMark.objects.filter(variation_id__in=variations, scope="")
    if metric:
        return marks.filter(metric=metric).values_list("profile_id", flat=True).distinct()
    converted = Conversion.objects.filter(
        campaign=campaign, variation_id__in=variations, position=0
    ).values_list("profile_id", flat=True)
    if behavior == "converted":
        return converted.distinct()
    if behavior == "not_converted":
        return (marks.filter(metric="recipients").exclude(profile_id__in=converted)
                .values_list("profile_id", flat=True).distinct())
    raise ValueError(f"unknown behavior {behavior!r}")


# --- Results ------------------------------------------------------------------------------


def _rollups(*, campaign: Campaign, start: date | None, end: date | None,
             send_id: str | None) -> QuerySet[DailyRollup]:
    rows = DailyRollup.objects.filter(campaign=campaign)
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    if send_id:
        rows = rows.filter(send_id=send_id)
    return rows


# NOTE: written once as SQL: compiling forty Sum() expressions through the ORM on every
# request cost more than running the query (bench/results_render.py).
_TABLE = DailyRollup._meta.db_table
_SUMS_SQL = ", ".join(f'SUM("{name}")' for name in ROLLUP_COUNTERS)
_REVENUE = ROLLUP_COUNTERS.index("revenue")


def _day_value(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _two_proportion_confidence(c0: int, n0: int, c1: int, n1: int) -> float | None:
    """Confidence (0–1) that two conversion rates differ: two-sided two-proportion z-test."""
    if not n0 or not n1:
        return None
    pooled = (c0 + c1) / (n0 + n1)
    variance = pooled * (1 - pooled) * (1 / n0 + 1 / n1)
    if variance <= 0:
        return None
    z = abs(c1 / n1 - c0 / n0) / math.sqrt(variance)
    return math.erf(z / math.sqrt(2))


@dataclass
class VariationRow:
    variation: MessageVariation | None  # None for the totals row
    totals: dict[str, Any]
    conversions: list[dict[str, Any]] = field(default_factory=list)
    uplift: float | None = None
    confidence: float | None = None
    is_baseline: bool = False

    def _get(self, name: str) -> Any:
        return self.totals.get(name) or 0

    @property
    def has_opens(self) -> bool:
        """SMS and webhooks have no open: their cells read "—", not a misleading 0 %."""
        return self.variation is None or self.variation.channel not in (
            Channel.SMS, Channel.WEBHOOK)

    @property
    def sends(self) -> int:
        return self._get("sent")

    @property
    def deliveries(self) -> int:
        return self._get("delivered")

    @property
    def bounces(self) -> int:
        return self._get("bounce_hard") + self._get("bounce_soft")

    @property
    def failed(self) -> int:
        """Attempts the provider refused or that could not reach it (not bounces)."""
        return self._get("failed")

    @property
    def skipped(self) -> int:
        """Profiles of the audience not sent to: no address or token, unsubscribed, aborted."""
        return self._get("skipped")

    @property
    def sandboxed(self) -> int:
        """Messages the sandbox took (no provider configured): never sent, never delivered."""
        return self._get("sandboxed")

    @property
    def has_failures(self) -> bool:
        return bool(self.bounces or self.failed)

    @property
    def recipients(self) -> int:
        # Unique recipients (spec §1.8): profiles sent the message, except Content Cards,
        # where only a profile that viewed the card counts (services._unique_metrics).
        return self._get("first_recipients")

    @property
    def unique_opens(self) -> int:
        return self._get("first_opens") + self._get("first_impressions")

    @property
    def unique_clicks(self) -> int:
        return self._get("first_clicks")

    @property
    def unsubscribes(self) -> int:
        return self._get("unsubscribes")

    @property
    def revenue(self) -> Decimal:
        return self.totals.get("revenue") or Decimal(0)

    @property
    def _reach(self) -> int:
        # Rates are per delivered message where the channel reports deliveries.
        return self.deliveries or self.sends

    @property
    def delivery_rate(self) -> float | None:
        return _rate(self.deliveries, self.sends)

    @property
    def open_rate(self) -> float | None:
        return _rate(self.unique_opens, self._reach)

    @property
    def click_rate(self) -> float | None:
        return _rate(self.unique_clicks, self._reach)

    @property
    def primary_rate(self) -> float | None:
        return self.conversions[0]["rate"] if self.conversions else None


@dataclass
class CampaignResults:
    campaign: Campaign
    conversion_events: list[ConversionEvent]
    rows: list[VariationRow]
    total: VariationRow
    send_ids: list[str]

    @property
    def has_data(self) -> bool:
        t = self.total
        return bool(t.sends or t.recipients or t.unique_opens or t.failed or t.bounces
                    or t.skipped or t.sandboxed)

    @property
    def has_sandbox(self) -> bool:
        return bool(self.total.sandboxed)

    @property
    def only_sandbox(self) -> bool:
        """Everything so far went to the sandbox: nothing really left Herald."""
        return bool(self.total.sandboxed) and not self.total.sends


def _conversion_cells(totals: dict[str, Any], events: list[ConversionEvent],
                      recipients: int, profiles: dict[int, int] | None = None
                      ) -> list[dict[str, Any]]:
    """One cell per conversion event: count (once per profile and channel, as Braze counts),
    rate (count ÷ unique recipients) and `profiles`, the distinct profiles converting.

    Within one variation (one channel) both counts agree; the Total row passes `profiles`
    read from the conversions, where a profile converting on two channels is one profile.
    """
    cells = []
    for event in events:
        count = totals.get(event.metric_name) or 0
        cells.append({"event": event, "count": count, "rate": _rate(count, recipients),
                      "profiles": count if profiles is None else profiles.get(event.position, 0)})
    return cells


def converting_profiles(*, campaign: Campaign, start: date | None = None,
                        end: date | None = None, send_id: str | None = None) -> dict[int, int]:
    """Distinct profiles converting per conversion event position, whatever the channel.

    Dated as the rollups' `conversions*` are: on the day of the conversion (UTC).
    """
    rows = Conversion.objects.filter(campaign=campaign)
    if start:
        rows = rows.filter(converted_at__gte=datetime.combine(start, datetime.min.time(), UTC))
    if end:
        rows = rows.filter(converted_at__lt=datetime.combine(end + timedelta(days=1),
                                                             datetime.min.time(), UTC))
    if send_id:
        rows = rows.filter(send_id=send_id)
    return dict(rows.values("position").annotate(n=Count("profile", distinct=True))
                .values_list("position", "n").order_by())


def rollup_days(*, campaign: Campaign, start: date | None = None, end: date | None = None,
                send_id: str | None = None) -> list[dict[str, Any]]:
    """Counters summed per (variation, day), oldest first: one query feeds a whole page."""
    where, params = ['"campaign_id" = %s'], [campaign.pk]
    for clause, value in (('"day" >= %s', start), ('"day" <= %s', end),
                          ('"send_id" = %s', send_id)):
        if value:
            where.append(clause)
            params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "variation_id", "day", {_SUMS_SQL} FROM "{_TABLE}" '
            f'WHERE {" AND ".join(where)} GROUP BY "variation_id", "day" ORDER BY "day"',
            params,
        )
        rows = cursor.fetchall()
    days = []
    for variation_id, day, *sums in rows:
        # PostgreSQL sums bigints as numeric: back to int (revenue stays a Decimal).
        row: dict[str, Any] = {name: int(value or 0)
                               for name, value in zip(ROLLUP_COUNTERS, sums, strict=True)}
        row["revenue"] = Decimal(str(sums[_REVENUE] or 0))
        row["variation_id"], row["day"] = variation_id, _day_value(day)
        days.append(row)
    return days


def campaign_recipient_days(*, campaign: Campaign, start: date | None = None,
                            end: date | None = None, send_id: str | None = None
                            ) -> dict[date, dict[str, int]]:
    """Distinct recipients of the whole campaign (or one send) per day.

    Unlike summing variations, a profile reached by two variations counts once.
    """
    rows = CampaignDayRollup.objects.filter(campaign=campaign, send_id=send_id or "")
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    return {
        _day_value(day): {"unique_recipients": unique, "first_recipients": first}
        for day, unique, first in rows.values_list("day", "unique_recipients",
                                                   "first_recipients")
    }


def variation_results(*, campaign: Campaign, start: date | None = None, end: date | None = None,
                      send_id: str | None = None, days: list[dict[str, Any]] | None = None,
                      variations: list[MessageVariation] | None = None,
                      events: list[ConversionEvent] | None = None) -> CampaignResults:
    """One row per variation with totals, conversion cells and A/B uplift, from rollups.

    `days` (from `rollup_days`) may be given to reuse rows already read; pass the same
    start, end and send_id that read them.
    """
    variations = list(campaign.variations.all()) if variations is None else variations
    events = list(campaign.conversion_events.all()) if events is None else events
    if days is None:
        days = rollup_days(campaign=campaign, start=start, end=end, send_id=send_id)
    per_variation: dict[int, dict[str, Any]] = {}
    for day in days:
        totals = per_variation.setdefault(day["variation_id"], {})
        for name in ROLLUP_COUNTERS:
            totals[name] = totals.get(name, 0) + (day[name] or 0)
    rows = []
    for variation in variations:
        totals = per_variation.get(variation.pk, {})
        row = VariationRow(variation=variation, totals=totals)
        row.conversions = _conversion_cells(totals, events, row.recipients)
        rows.append(row)
    grand: dict[str, Any] = {}
    for totals in per_variation.values():
        for name in ROLLUP_COUNTERS:
            grand[name] = (grand.get(name) or 0) + (totals.get(name) or 0)
    # The total row's recipients are distinct profiles across variations (a profile sent
    # an email and a push is one recipient), not the sum of the variation rows.
    grand["first_recipients"] = sum(
        day["first_recipients"] for day in campaign_recipient_days(
            campaign=campaign, start=start, end=end, send_id=send_id).values())
    total = VariationRow(variation=None, totals=grand)
    # Conversions add up per channel (Braze's count: each channel is its own opportunity);
    # beside them, the Total says how many distinct profiles that is. Revenue needs no
    # such care: each purchase is credited once, to one variation (services.purchases_record).
    profiles = converting_profiles(campaign=campaign, start=start, end=end,
                                   send_id=send_id) if events else {}
    total.conversions = _conversion_cells(grand, events, total.recipients, profiles)

    # A/B: within each channel, compare every variant with the first one on the
    # primary conversion rate (conversions A ÷ unique recipients).
    if events:
        by_channel: dict[str, list[VariationRow]] = {}
        for row in rows:
            by_channel.setdefault(row.variation.channel, []).append(row)
        for channel_rows in by_channel.values():
            if len(channel_rows) < 2:
                continue
            base = channel_rows[0]
            base.is_baseline = True
            c0, n0 = base.conversions[0]["count"], base.recipients
            for row in channel_rows[1:]:
                c1, n1 = row.conversions[0]["count"], row.recipients
                if n0 and n1 and c0:
                    row.uplift = (c1 / n1) / (c0 / n0) - 1
                row.confidence = _two_proportion_confidence(c0, n0, c1, n1)

    send_ids = list(DailyRollup.objects.filter(campaign=campaign).exclude(send_id="")
                    .values_list("send_id", flat=True).distinct().order_by("send_id")[:200])
    return CampaignResults(campaign=campaign, conversion_events=events, rows=rows, total=total,
                           send_ids=send_ids)


# Metrics offered by the chart's chooser: (value, label, rollup counter(s)).
CHART_METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sent": ("Sends", ("sent",)),
    "delivered": ("Deliveries", ("delivered",)),
    "unique_opens": ("Unique opens", ("unique_opens", "unique_impressions")),
    "unique_clicks": ("Unique clicks", ("unique_clicks",)),
    "unsubscribes": ("Unsubscribes", ("unsubscribes",)),
    "failed": ("Bounces and failures", ("bounce_hard", "bounce_soft", "failed")),
    "skipped": ("Skipped", ("skipped",)),
    "conversions": ("Conversions (primary)", ("conversions",)),
    "revenue": ("Revenue", ("revenue",)),
}


def daily_series(*, variations: list[MessageVariation], days: list[dict[str, Any]],
                 metric: str, start: date, end: date) -> list[tuple[MessageVariation, list[float]]]:
    """One list of daily values (start..end inclusive) per variation, for the chart.

    `days` are rows of `rollup_days`; those outside start..end are left out.
    """
    counters = CHART_METRICS[metric][1]
    length = (end - start).days + 1
    values: dict[int, list[float]] = {}
    for row in days:
        offset = (row["day"] - start).days
        if 0 <= offset < length:
            series = values.setdefault(row["variation_id"], [0.0] * length)
            series[offset] += float(sum(row[c] or 0 for c in counters))
    return [(v, values.get(v.pk, [0.0] * length)) for v in variations]


# --- Data series (REST) -----------------------------------------------------------------


def _channel_metrics(channel: str, r: dict[str, Any], *, send_series: bool) -> dict[str, Any]:
    """One variation's day in Braze's field names for its channel (spec §5.1).

    Unsuccessful messages go where Braze reports them: email and push `bounces` (every
    message that did not get through: bounced, or refused or unreachable provider),
    SMS `rejected` (carrier bounces) and `delivery_failed`, webhook `errors`; the push
    send series splits `undelivered` (= `bounces`) and `delivery_failed`. Herald adds
    `skipped` (audience members not sent to: no address or token, unsubscribed, aborted)
    and `sandboxed` (taken by the sandbox, no provider configured) to every channel:
    neither is ever counted in `sent` or `delivered`.
    """
    g = lambda name: r.get(name) or 0  # noqa: E731
    bounced = g("bounce_hard") + g("bounce_soft")
    unsuccessful = bounced + g("failed")
    metrics: dict[str, Any]
    if channel == Channel.EMAIL:
        metrics = {"sent": g("sent"), "delivered": g("delivered"), "opens": g("opens"),
                   "unique_opens": g("unique_opens"), "clicks": g("clicks"),
                   "unique_clicks": g("unique_clicks"), "unsubscribes": g("unsubscribes"),
                   "bounces": unsuccessful, "reported_spam": g("reported_spam"),
                   # Herald's own addition: opens made by privacy proxies, not counted above.
                   "machine_opens": g("machine_opens")}
    elif channel in PUSH_CHANNELS:
        metrics = {"sent": g("sent"), "direct_opens": g("direct_opens"),
                   "total_opens": g("direct_opens"), "bounces": unsuccessful,
                   "body_clicks": g("clicks")}
        if send_series:
            metrics.update(delivered=g("delivered"), undelivered=unsuccessful,
                           delivery_failed=g("failed"))
    elif channel == Channel.SMS:
        metrics = {"sent": g("sent"), "sent_to_carrier": g("sent"), "delivered": g("delivered"),
                   "rejected": bounced, "delivery_failed": g("failed"), "clicks": g("clicks"),
                   "opt_out": g("opt_outs"), "help": g("helps")}
    elif channel == Channel.WEBHOOK:
        metrics = {"sent": g("sent"), "errors": unsuccessful}
    elif channel == Channel.CONTENT_CARD:
        metrics = {"sent": g("sent"), "total_impressions": g("impressions"),
                   "unique_impressions": g("unique_impressions"), "total_clicks": g("clicks"),
                   "unique_clicks": g("unique_clicks"), "total_dismissals": g("dismissals"),
                   "unique_dismissals": g("unique_dismissals")}
    else:
        metrics = {"sent": g("sent")}
    metrics.update(skipped=g("skipped"), sandboxed=g("sandboxed"))
    return metrics


def _conversion_fields(r: dict[str, Any], positions: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for position in positions:
        name = "conversions" if position == 0 else f"conversions{position}"
        out[name] = r.get(name) or 0
        out[f"{name}_by_send_time"] = r.get(f"{name}_by_send_time") or 0
    return out


def data_series(*, campaign: Campaign, end: date, length: int,
                send_id: str | None = None) -> list[dict[str, Any]]:
    """Daily statistics in the shape of /campaigns/data_series (spec §3.7, §3.8)."""
    start = end - timedelta(days=length - 1)
    variations = list(campaign.variations.all())
    positions = sorted(campaign.conversion_events.values_list("position", flat=True)) or [0]
    cells = {
        (row["variation_id"], row["day"]): row
        for row in rollup_days(campaign=campaign, start=start, end=end, send_id=send_id)
    }
    recipients = campaign_recipient_days(campaign=campaign, start=start, end=end,
                                         send_id=send_id)
    days = []
    for offset in range(length):
        day = start + timedelta(days=offset)
        messages: dict[str, list[dict[str, Any]]] = {}
        day_totals: dict[str, Any] = {"unique_recipients": 0, "revenue": 0.0}
        day_totals.update(_conversion_fields({}, positions))
        for variation in variations:
            r = cells.get((variation.pk, day), {})
            entry = {"variation_api_id": str(variation.api_id), "variation_name": variation.name}
            entry.update(_channel_metrics(variation.channel, r, send_series=send_id is not None))
            entry["unique_recipients"] = r.get("unique_recipients") or 0
            entry["revenue"] = float(r.get("revenue") or 0)
            entry.update(_conversion_fields(r, positions))
            messages.setdefault(variation.export_channel, []).append(entry)
            for name in day_totals:
                day_totals[name] += entry[name]
        day_totals["revenue"] = round(day_totals["revenue"], 4)
        # Distinct profiles of the campaign that day, not the sum of the variations'.
        day_totals["unique_recipients"] = recipients.get(day, {}).get("unique_recipients", 0)
        days.append({"time": day.isoformat(), **day_totals, "messages": messages})
    return days


def campaign_headlines(*, campaign_ids: list[str]) -> list[dict[str, Any]]:
    """Sends, unique recipients, unique opens, clicks and conversions per campaign."""
    campaigns = {
        c.pk: c for c in Campaign.objects.filter(api_id__in=campaign_ids)
    }
    sums = {
        row["campaign_id"]: row
        for row in DailyRollup.objects.filter(campaign_id__in=campaigns)
        .values("campaign_id").annotate(
            sent=Sum("sent"), opens=Sum("first_opens"), clicks=Sum("first_clicks"),
            recipients=Sum("first_recipients"), conversions=Sum("conversions"),
            last_day=Max("day"),
        ).order_by()
    }
    out = []
    for pk, campaign in campaigns.items():
        row = sums.get(pk, {})
        sent = row.get("sent") or 0
        opens = row.get("opens") or 0
        out.append({"campaign": campaign, "sent": sent, "unique_opens": opens,
                    "open_rate": _rate(opens, sent), "unique_clicks": row.get("clicks") or 0,
                    "conversions": row.get("conversions") or 0,
                    "last_sent": campaign.last_sent_at or row.get("last_day")})
    return out


# --- Per-profile history (POST /users/export/ids) ---------------------------------------


def _export_time(value: datetime) -> str:
    """Braze's export timestamps: ISO 8601 with milliseconds and Z (spec §3b.4)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_RECEIVED_KINDS = ("sent", "open", "click", "direct_open")


def conversion_label(position: int) -> str:
    """The key of a conversion event in `multiple_converted`, as Braze's export labels it."""
    letter = "ABCD"[position]
    return f"Primary Conversion Event - {letter}" if position == 0 else (
        f"Conversion Event - {letter}")


def campaigns_received_many(*, profile_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """`campaigns_received` of several profiles (spec §3b.4), newest first, in 4 queries.

    One entry per variation received (a profile sent two variations of one campaign, on
    two channels, has two entries): when it was last sent, whether the profile
    opened/clicked that email or opened that push, whether it converted on the primary
    conversion event (`converted`) and on each (`multiple_converted`, keyed by Braze's
    labels). Machine opens (privacy proxies) are not engagement. Herald has no in-app
    messages (`clicked_triggered_in_app_message` is always false) and no control groups
    (`in_control` is always false).
    """
    # What each profile received and did per campaign, variation, channel and kind.
    rows = (EngagementEvent.objects
            .filter(profile_id__in=profile_ids, kind__in=_RECEIVED_KINDS,
                    campaign__isnull=False, variation__isnull=False)
            .values("profile_id", "campaign_id", "variation_id", "channel", "kind")
            .annotate(last=Max("occurred_at")).order_by())
    last: dict[tuple[int, int], datetime] = {}
    engaged: dict[tuple[int, int], set[str]] = {}
    for row in rows:
        key = (row["profile_id"], row["variation_id"])
        flags = engaged.setdefault(key, set())
        kind, channel = row["kind"], row["channel"]
        if kind == "sent":
            if key not in last or row["last"] > last[key]:
                last[key] = row["last"]
        elif kind == "open" and channel == Channel.EMAIL:
            flags.add("opened_email")
        elif kind == "click" and channel == Channel.EMAIL:
            flags.add("clicked_email")
        elif kind == "direct_open" and channel in PUSH_CHANNELS:
            flags.add("opened_push")
    variations = {
        v.pk: v for v in MessageVariation.objects.filter(
            pk__in={variation_id for _, variation_id in last}).select_related("campaign")
    }
    positions: dict[int, list[int]] = defaultdict(list)
    for campaign_id, position in (ConversionEvent.objects.filter(
            campaign_id__in={v.campaign_id for v in variations.values()})
            .order_by("position").values_list("campaign_id", "position")):
        positions[campaign_id].append(position)
    converted = set(Conversion.objects.filter(profile_id__in=profile_ids)
                    .values_list("profile_id", "variation_id", "position").distinct())
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in profile_ids}
    for (profile_id, variation_id), moment in sorted(
            last.items(), key=lambda item: (item[1], item[0][1]), reverse=True):
        variation = variations[variation_id]
        flags = engaged.get((profile_id, variation_id), set())
        out[profile_id].append({
            "name": variation.campaign.name,
            "api_campaign_id": str(variation.campaign.api_id),
            "last_received": _export_time(moment),
            "engaged": {name: name in flags
                        for name in ("opened_email", "opened_push", "clicked_email",
                                     "clicked_triggered_in_app_message")},
            "converted": (profile_id, variation_id, 0) in converted,
            "multiple_converted": {
                conversion_label(position): (profile_id, variation_id, position) in converted
                for position in positions[variation.campaign_id]},
            "variation_name": variation.name,
            "variation_api_id": str(variation.api_id),
            "in_control": False,
        })
    return out


def campaigns_received(*, profile_id: int) -> list[dict[str, Any]]:
    """`campaigns_received` of one profile; see `campaigns_received_many`."""
    return campaigns_received_many(profile_ids=[profile_id])[profile_id]
