"""What happened: engagement with messages, and the user actions that may convert.

Rows point "upward" to messaging by string foreign keys ("messaging.Profile"); this
app never imports messaging.
"""

from django.db import models

from campaigns.models import Campaign, Channel, MessageVariation


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

    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=32, choices=Channel.choices)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
        "messaging.Profile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(db_index=True)
    # Makes recording idempotent: the same event delivered twice is stored once.
    dedupe_key = models.CharField(max_length=128, unique=True)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["campaign", "variation", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


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
