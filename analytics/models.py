"""What happened: engagement with messages, and the user actions that may convert.

Rows point "upward" to messaging by string foreign keys ("messaging.Profile"); this
app never imports messaging.
"""

import uuid

from django.conf import settings
from django.db import models

from campaigns.models import Campaign, Channel, ConversionEvent, MessageVariation


class EngagementEvent(models.Model):
    """One thing that happened to one delivered message."""

    class Kind(models.TextChoices):
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        BOUNCE_HARD = "bounce_hard", "Hard bounce"
        BOUNCE_SOFT = "bounce_soft", "Soft bounce"
        FAILED = "failed", "Failed"
        OPEN = "open", "Open"
        MACHINE_OPEN = "machine_open", "Machine open"
        CLICK = "click", "Click"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
        IMPRESSION = "impression", "Impression"
        DISMISSAL = "dismissal", "Dismissal"
        DIRECT_OPEN = "direct_open", "Push open"
        REPORTED_SPAM = "reported_spam", "Reported spam"
        OPT_OUT = "opt_out", "SMS opt-out"
        HELP = "help", "SMS help"
        # Not sent at all: no address or token, unsubscribed, abort_message. Counted so the
        # results say how many of the audience were left out, and why (on the dispatch).
        SKIPPED = "skipped", "Skipped"
        # Recorded by the sandbox (no provider configured): never a real delivery.
        SANDBOXED = "sandboxed", "Sandbox"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=32, choices=Channel.choices)
    # NOTE: no single-column indexes where a composite index below starts with the
    # column: every index costs time on the hot recording path.
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    variation = models.ForeignKey(
        MessageVariation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_id = models.CharField(max_length=64, blank=True)
    dispatch = models.ForeignKey(
        "messaging.Dispatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery = models.ForeignKey(
        "messaging.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="engagement_events",
    )
    profile = models.ForeignKey(
        "messaging.Profile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    occurred_at = models.DateTimeField()
    # Makes recording idempotent: the same event delivered twice is stored once. (A
    # constraint rather than unique=True, which would add a second, LIKE index.)
    dedupe_key = models.CharField(max_length=128)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="unique_dedupe_key")]
        indexes = [
            models.Index(fields=["campaign", "variation", "kind"]),
            # Conversion matching: "what did this profile receive lately?"
            models.Index(fields=["profile", "kind", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


class TrackingHit(models.Model):
    """A tracking URL was fetched (an open pixel, a click): the raw hit, not yet counted.

    The request writes this one narrow row and answers at once; a worker folds hits into
    engagement events and rollups in batches (messaging.services.tracking), then deletes
    them. So the table stays small, and a hit survives any crash between the two steps.
    """

    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        CLICK = "click", "Click"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # messaging's Delivery.message_id, as signed in the link (no foreign key: the write
    # must not look the delivery up, and a hit for a deleted one is dropped when folded).
    message_id = models.CharField(max_length=32)
    occurred_at = models.DateTimeField()
    user_agent = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    link_index = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"


class CustomEvent(models.Model):
    """A custom event recorded by /users/track."""

    profile = models.ForeignKey(
        "messaging.Profile", on_delete=models.CASCADE, related_name="custom_events"
    )
    app_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255)
    time = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time"]
        indexes = [models.Index(fields=["profile", "name", "time"])]

    def __str__(self) -> str:
        return self.name


class Purchase(models.Model):
    """One purchase of quantity 1 recorded by /users/track (quantity n → n rows)."""

    profile = models.ForeignKey(
        "messaging.Profile", on_delete=models.CASCADE, related_name="purchases"
    )
    app_id = models.CharField(max_length=64, blank=True)
    product_id = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    price = models.DecimalField(max_digits=14, decimal_places=4)
    time = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time"]
        indexes = [models.Index(fields=["profile", "time"])]

    def __str__(self) -> str:
        return f"{self.product_id} {self.price} {self.currency}"


class DailyRollup(models.Model):
    """Counters per (campaign, variation, send_id, day), updated as events are recorded.

    Pages and the data-series endpoints read only these rows. `unique_*` count distinct
    profiles within the row's own bucket (that day, that send_id), as Braze's daily series
    do; `first_*` count each profile once per variation for the campaign's whole life (on
    the day of its first occurrence), so summing them over days stays exact.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    variation = models.ForeignKey(MessageVariation, on_delete=models.CASCADE, related_name="+")
    send_id = models.CharField(max_length=64, blank=True)
    day = models.DateField()

    sent = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    bounce_hard = models.BigIntegerField(default=0)
    bounce_soft = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    opens = models.BigIntegerField(default=0)
    machine_opens = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    unsubscribes = models.BigIntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    dismissals = models.BigIntegerField(default=0)
    direct_opens = models.BigIntegerField(default=0)
    reported_spam = models.BigIntegerField(default=0)
    opt_outs = models.BigIntegerField(default=0)
    helps = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    sandboxed = models.BigIntegerField(default=0)

    unique_recipients = models.BigIntegerField(default=0)
    unique_opens = models.BigIntegerField(default=0)
    unique_clicks = models.BigIntegerField(default=0)
    unique_impressions = models.BigIntegerField(default=0)
    unique_dismissals = models.BigIntegerField(default=0)
    first_recipients = models.BigIntegerField(default=0)
    first_opens = models.BigIntegerField(default=0)
    first_clicks = models.BigIntegerField(default=0)
    first_impressions = models.BigIntegerField(default=0)
    first_dismissals = models.BigIntegerField(default=0)

    # Conversion event A..D, on the day of the conversion and on the day of the send.
    conversions = models.BigIntegerField(default=0)
    conversions1 = models.BigIntegerField(default=0)
    conversions2 = models.BigIntegerField(default=0)
    conversions3 = models.BigIntegerField(default=0)
    conversions_by_send_time = models.BigIntegerField(default=0)
    conversions1_by_send_time = models.BigIntegerField(default=0)
    conversions2_by_send_time = models.BigIntegerField(default=0)
    conversions3_by_send_time = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "variation", "send_id", "day"], name="one_rollup_per_bucket"
            )
        ]
        indexes = [models.Index(fields=["campaign", "day"])]

    def __str__(self) -> str:
        return f"{self.variation_id} {self.send_id or '-'} {self.day}"


# Counter columns of DailyRollup, in the order the upsert writes them.
ROLLUP_COUNTERS = [
    field.name for field in DailyRollup._meta.concrete_fields
    if isinstance(field, (models.BigIntegerField, models.DecimalField)) and not field.primary_key
]


class UniqueMark(models.Model):
    """One profile counted once for a metric within a scope (a uniqueness ledger).

    `scope` is "" for the variation's whole life, or "<day>|<send_id>" for one rollup
    bucket. A mark is inserted with ON CONFLICT DO NOTHING and the rollup's unique
    counter is bumped only when the insert really happened, so counts stay exact under
    retries and concurrent workers.
    """

    variation = models.ForeignKey(MessageVariation, on_delete=models.CASCADE, related_name="+",
                                  db_index=False)  # the unique constraint starts with it
    profile = models.ForeignKey("messaging.Profile", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=16)
    scope = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variation", "profile", "metric", "scope"], name="one_mark_per_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.scope or 'lifetime'}"


class CampaignDayRollup(models.Model):
    """Distinct recipients of a whole campaign (all its variations) per day.

    A profile messaged on two channels (two variations) the same day is one recipient
    here, where each variation's DailyRollup counts it once. `send_id` "" holds the
    campaign's counts over all sends; a non-empty `send_id` holds that send's own.
    `unique_recipients` counts distinct profiles that day; `first_recipients` counts
    each profile once for the campaign's (or send's) whole life, on its first day.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    send_id = models.CharField(max_length=64, blank=True)
    day = models.DateField()
    unique_recipients = models.BigIntegerField(default=0)
    first_recipients = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "send_id", "day"],
                                    name="one_campaign_rollup_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.send_id or '*'} {self.day}"


CAMPAIGN_ROLLUP_COUNTERS = ["unique_recipients", "first_recipients"]


class CampaignMark(models.Model):
    """One profile counted once as a recipient of a campaign within a scope.

    The campaign-wide twin of UniqueMark. `scope` is "" (whole life), "<day>" (one day),
    "|<send_id>" (one send's whole life) or "<day>|<send_id>" (one send, one day).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+",
                                 db_index=False)  # the unique constraint starts with it
    profile = models.ForeignKey("messaging.Profile", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "profile", "scope"],
                                    name="one_campaign_mark_per_scope")
        ]

    def __str__(self) -> str:
        return f"recipient {self.scope or 'lifetime'}"


class Conversion(models.Model):
    """A profile converting on a campaign's conversion event, after receiving a message.

    Counted once per profile per conversion event per campaign and channel (spec §1.8:
    each channel of a multichannel campaign is its own opportunity).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    conversion_event = models.ForeignKey(
        ConversionEvent, on_delete=models.CASCADE, related_name="conversions"
    )
    position = models.PositiveSmallIntegerField()
    variation = models.ForeignKey(MessageVariation, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=32, choices=Channel.choices)
    send_id = models.CharField(max_length=64, blank=True)
    profile = models.ForeignKey("messaging.Profile", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    converted_at = models.DateTimeField()
    # What converted: "custom_event:<name>", "purchase:<product>", "session", "upgrade".
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversion_event", "profile", "channel"], name="one_conversion_per_profile"
            )
        ]
        indexes = [models.Index(fields=["variation", "position"])]

    def __str__(self) -> str:
        return f"conversion {'ABCD'[self.position]} at {self.converted_at:%Y-%m-%d %H:%M}"


class AppVersionSeen(models.Model):
    """The last app version a profile reported per app, to detect upgrades."""

    profile = models.ForeignKey("messaging.Profile", on_delete=models.CASCADE, related_name="+")
    app_id = models.CharField(max_length=64, blank=True)
    version = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "app_id"], name="one_version_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.app_id or 'app'} {self.version}"


def new_segment_id() -> str:
    # Braze's segment identifiers are UUID-like (spec §3b.9).
    return str(uuid.uuid4())


class Segment(models.Model):
    """A stored list of profiles, usable as `segment_id` in POST /messages/send."""

    class Source(models.TextChoices):
        RETARGETING = "retargeting", "Retargeting from campaign results"

    class Behavior(models.TextChoices):
        RECEIVED = "received", "Received"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        CONVERTED = "converted", "Converted"
        NOT_CONVERTED = "not_converted", "Did not convert"

    segment_id = models.CharField(max_length=36, unique=True, default=new_segment_id,
                                  editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=32, choices=Source.choices, default=Source.RETARGETING)
    source_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_variation = models.ForeignKey(
        MessageVariation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    behavior = models.CharField(max_length=16, choices=Behavior.choices, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    profile = models.ForeignKey("messaging.Profile", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "profile"], name="unique_segment_member")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.profile_id}"


class ActivityRollup(models.Model):
    """What users did per day, across campaigns: the reporting endpoints read only these.

    One row per (day, kind, app_id, name): custom events by name, purchases by product
    (`quantity` and `revenue`), app sessions by app (`name` is ""). Updated in the same
    transaction as the raw rows /users/track and /engagement/track record.
    """

    class Kind(models.TextChoices):
        EVENT = "event", "Custom event"
        PURCHASE = "purchase", "Purchase"
        SESSION = "session", "Session"

    day = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    app_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True)
    count = models.BigIntegerField(default=0)
    quantity = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "app_id", "name"],
                                    name="one_activity_rollup_per_bucket")
        ]
        indexes = [models.Index(fields=["kind", "name", "day"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.name or self.app_id or '-'} {self.day}"


ACTIVITY_ROLLUP_KEY = ["day", "kind", "app_id", "name"]
ACTIVITY_ROLLUP_COUNTERS = ["count", "quantity", "revenue"]


class ActiveDay(models.Model):
    """A profile was active (a session, a custom event or a purchase) on a day, once.

    Daily and monthly active users are distinct profiles counted over these rows.
    """

    profile = models.ForeignKey("messaging.Profile", on_delete=models.CASCADE, related_name="+",
                                db_index=False)  # the unique constraint starts with it
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "day"], name="one_active_day_per_profile")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.day}"
