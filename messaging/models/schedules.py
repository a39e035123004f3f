import uuid

from django.conf import settings
from django.db import models

from campaigns.models import Campaign

from .dispatch import new_dispatch_id
from .keys import ApiKey


class ScheduledMessage(models.Model):
    """A send accepted now and delivered later: POST /messages/schedule/create (spec §3b.8).

    It holds the checked plan of the send (what /messages/send would have written), and
    fires once, when its time comes, by creating the Dispatch (messaging.scheduling.services).
    With `in_local_time` it fires in waves, one per group of time zones whose wall-clock
    time has come (`zones_sent` lists those done), each wave a dispatch of its own.
    """

    class Kind(models.TextChoices):
        # Content in the request (an API campaign), or in the dashboard (API-triggered).
        MESSAGES = "messages", "API campaign message"
        TRIGGER = "trigger", "API-triggered campaign"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        # Local time: some time zones have received it, others wait.
        SENDING = "sending", "Sending by time zone"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Not sent"

    PENDING = (Status.SCHEDULED, Status.SENDING)

    # The public `schedule_id`: random, the handle for update and delete.
    schedule_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MESSAGES)
    # Issued at scheduling time, answered at once, and carried by the (first) dispatch.
    dispatch_id = models.CharField(max_length=32, unique=True, default=new_dispatch_id)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="schedules"
    )
    # The request as validated (without `schedule`), kept to rebuild the plan on update.
    request = models.JSONField(default=dict)
    # The checked send: messages, audience, recipient_subscription_state, send_id…
    plan = models.JSONField(default=dict)
    # The `time` as given: an instant (UTC) or, for local delivery, a wall-clock time.
    time = models.DateTimeField()
    in_local_time = models.BooleanField(default=False)
    at_optimal_time = models.BooleanField(default=False)
    # The next instant something of it is due (the earliest time zone not yet sent).
    send_at = models.DateTimeField()
    zones_sent = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    dispatch_ids = models.JSONField(default=list, blank=True)
    # Non-fatal notes answered to the caller (e.g. optimal time falling back).
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["send_at", "id"]
        indexes = [
            # The tick looks for due schedules every few seconds: only pending ones.
            models.Index(
                fields=["send_at"],
                name="schedule_pending_due",
                condition=models.Q(status__in=["scheduled", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return str(self.schedule_id)

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING

    @property
    def is_local(self) -> bool:
        return self.in_local_time or self.at_optimal_time

    @property
    def channels(self) -> list[str]:
        return list((self.plan or {}).get("messages", {}))
