"""What marketers configure: API campaigns, their messages (variations) and conversion events.

This app is the bottom layer: it imports nothing from `analytics` or `messaging`.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse


class Channel(models.TextChoices):
    """A message object key of POST /messages/send, labelled as the dashboard shows it."""

    ANDROID_PUSH = "android_push", "Android"
    CONTENT_CARD = "content_card", "Content Cards"
    EMAIL = "email", "Email"
    APPLE_PUSH = "apple_push", "iOS"
    KINDLE_PUSH = "kindle_push", "Kindle"
    SMS = "sms", "SMS/MMS"
    WEB_PUSH = "web_push", "Web Push"
    WEBHOOK = "webhook", "Webhook"


# The platform an app must have for its push tokens to carry a push channel's messages
# (the values of messaging's App.Platform). The one home of this map: import it.
PUSH_PLATFORMS: dict[str, str] = {
    Channel.APPLE_PUSH: "ios",
    Channel.ANDROID_PUSH: "android",
    Channel.KINDLE_PUSH: "kindle",
    Channel.WEB_PUSH: "web",
}
PUSH_CHANNELS: frozenset[str] = frozenset(PUSH_PLATFORMS)


# Braze's export endpoints name some channels differently from the send API's keys
# (spec §3.6, §3.7): `ios_push` for `apple_push`, `content_cards` for `content_card`.
EXPORT_CHANNEL_NAMES = {
    Channel.APPLE_PUSH: "ios_push",
    Channel.CONTENT_CARD: "content_cards",
}


def export_channel_name(channel: str) -> str:
    return EXPORT_CHANNEL_NAMES.get(channel, channel)


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    class Kind(models.TextChoices):
        # Content in each request (/messages/send): the dashboard mints IDs and reports.
        API = "api", "API campaign"
        # Content written here, per variant; the API only triggers it (/campaigns/trigger/send).
        API_TRIGGERED = "api_triggered", "API-triggered campaign"

    # The public `campaign_id`: random, never reused, never changed once minted.
    api_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="campaigns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Chosen at creation and never changed: the two kinds are never blurred.
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.API, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept by campaigns.services.variations_sent, which messaging calls when it sends.
    first_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "-updated_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.api_id])

    @property
    def campaign_id(self) -> str:
        return str(self.api_id)

    @property
    def is_archived(self) -> bool:
        return self.status == self.Status.ARCHIVED

    @property
    def is_api_triggered(self) -> bool:
        return self.kind == self.Kind.API_TRIGGERED


class MessageVariation(models.Model):
    """One message of an API campaign: a channel, and a variant name for A/B tests."""

    # The public `message_variation_id`.
    api_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variations")
    channel = models.CharField(max_length=32, choices=Channel.choices)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    # An API-triggered campaign's message for this variant, as a message object of
    # /messages/send (Braze's field names; checked by messaging, which renders it). Empty
    # for an API campaign, whose content comes in each request.
    content = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When messaging first created deliveries of it (campaigns.services.variations_sent).
    # A variation that has been sent can be renamed but not removed.
    first_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["campaign", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "name"], name="unique_variant_name_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.name}"

    @property
    def message_variation_id(self) -> str:
        return str(self.api_id)

    @property
    def export_channel(self) -> str:
        return export_channel_name(self.channel)


MIN_CONVERSION_WINDOW = timedelta(hours=1)
MAX_CONVERSION_WINDOW = timedelta(days=30)
DEFAULT_CONVERSION_WINDOW = timedelta(days=3)
MAX_CONVERSION_EVENTS = 4


class ConversionEvent(models.Model):
    """A user action counted as a conversion when it follows a message of the campaign."""

    class Kind(models.TextChoices):
        # Values are Braze's `conversion_behaviors[].type` strings (spec §1.8).
        STARTS_SESSION = "Starts Session", "Opens app"
        MAKES_ANY_PURCHASE = "Makes Any Purchase", "Makes purchase (any product)"
        MAKES_SPECIFIC_PURCHASE = "Makes Specific Purchase", "Makes purchase (specific product)"
        PERFORMS_CUSTOM_EVENT = "Performs Custom Event", "Performs custom event"
        UPGRADES_APP = "Upgrades App", "Upgrades app"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="conversion_events"
    )
    # 0 is the primary event (A); exported as conversions, conversions1..3.
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    product_id = models.CharField(max_length=255, blank=True)
    custom_event_name = models.CharField(max_length=255, blank=True)
    window = models.DurationField(default=DEFAULT_CONVERSION_WINDOW)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "position"], name="unique_conversion_position"
            ),
            models.CheckConstraint(
                condition=models.Q(position__lt=MAX_CONVERSION_EVENTS),
                name="at_most_four_conversion_events",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.get_kind_display()}"

    @property
    def label(self) -> str:
        return "ABCD"[self.position]

    @property
    def is_primary(self) -> bool:
        return self.position == 0

    @property
    def window_display(self) -> str:
        """“3 days”, or “36 hours” when the deadline is not whole days."""
        if self.window % timedelta(days=1) == timedelta(0):
            days = self.window.days
            return f"{days} day{'s' if days != 1 else ''}"
        hours = int(self.window.total_seconds() // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"

    @property
    def metric_name(self) -> str:
        """`conversions`, `conversions1`, … as in /campaigns/data_series."""
        return "conversions" if self.position == 0 else f"conversions{self.position}"

    def clean(self) -> None:
        errors = {}
        if not MIN_CONVERSION_WINDOW <= self.window <= MAX_CONVERSION_WINDOW:
            errors["window"] = "The conversion deadline must be between 1 hour and 30 days."
        if self.kind == self.Kind.PERFORMS_CUSTOM_EVENT and not self.custom_event_name.strip():
            errors["custom_event_name"] = "Name the custom event to track."
        if self.kind == self.Kind.MAKES_SPECIFIC_PURCHASE and not self.product_id.strip():
            errors["product_id"] = "Name the product, or choose “any product”."
        if errors:
            raise ValidationError(errors)
