import secrets

from django.db import models

from campaigns.models import Campaign, Channel, MessageVariation

from .keys import ApiKey
from .profiles import Profile


def new_dispatch_id() -> str:
    # Braze's recorded dispatch IDs are 32 lowercase hex characters (spec §1.5).
    return secrets.token_hex(16)


def new_message_id() -> str:
    return secrets.token_hex(16)


class SendIdentifier(models.Model):
    """A `send_id` created by POST /sends/id/create (or generated for a broadcast)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="send_ids")
    send_id = models.CharField(max_length=64)
    # Generated for a broadcast without send_id: does not count toward the daily quota.
    generated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "send_id"], name="unique_send_id")
        ]

    def __str__(self) -> str:
        return self.send_id


class Dispatch(models.Model):
    """One accepted POST /messages/send: its audience and messages, delivered by workers."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Delivering"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # The queues of messaging.tasks (config/settings.py CELERY_TASK_QUEUES).
    class Queue(models.TextChoices):
        TRANSACTIONAL = "transactional", "Transactional"
        BULK = "bulk", "Bulk"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    dispatch_id = models.CharField(max_length=32, unique=True, default=new_dispatch_id)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="dispatches"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="dispatches"
    )
    send_id = models.CharField(max_length=64, blank=True)
    # The validated request: recipients / broadcast / segment, and message objects.
    audience = models.JSONField(default=dict)
    messages = models.JSONField(default=dict)
    recipient_subscription_state = models.CharField(max_length=16, default="subscribed")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Audience size counted when delivery starts (a broadcast's is unknown before).
    recipients_total = models.PositiveIntegerField(default=0)
    recipients_resolved = models.PositiveIntegerField(default=0)
    # Progress, moved by F() increments as chunks are recorded (never recounted).
    # delivered: real deliveries (the sandbox's are `sandboxed_count`); failed includes
    # bounced (`bounced_count` is the bounced part); resent: rows sent again after their
    # worker died mid-attempt (same message_id).
    delivered_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    bounced_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    sandboxed_count = models.PositiveIntegerField(default=0)
    resent_count = models.PositiveIntegerField(default=0)
    # Which Celery queue its tasks go to: transactional (few explicit recipients) or bulk.
    queue = models.CharField(max_length=16, choices=Queue.choices, default=Queue.TRANSACTIONAL)
    # Set when the task message could not be published (broker down at accept time): the
    # sweeper publishes it at its next run.
    needs_enqueue = models.BooleanField(default=False)
    # Shards planned for the audience; the dispatch is done when every one is.
    shards_total = models.PositiveIntegerField(default=0)
    shards_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "dispatches"
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.dispatch_id

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class DispatchShard(models.Model):
    """One primary-key range of a dispatch's audience, delivered by one task at a time.

    A shard is claimed by the task that moves it to `running` (a conditional UPDATE) and
    keeps `heartbeat_at` fresh while it works; one whose heartbeat went stale lost its
    worker and is put back to `pending` by the sweeper. Running a shard twice is safe:
    rows are unique and claimed before they are sent (messaging.delivery.shards).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveIntegerField()
    # Profiles with pk_from < pk <= pk_to.
    pk_from = models.BigIntegerField()
    pk_to = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When its task message was last published (null: never, e.g. the broker was down).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dispatch", "index"]
        constraints = [
            models.UniqueConstraint(fields=["dispatch", "index"], name="one_shard_per_index")
        ]
        indexes = [
            models.Index(
                fields=["status", "heartbeat_at"],
                name="shard_unfinished",
                condition=models.Q(status__in=["pending", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.dispatch_id}#{self.index}"


class IdempotencyRecord(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for 24 hours."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"Idempotency-Key {self.key}"


class Delivery(models.Model):
    """One message to one profile on one channel; unique, so a retried task never resends."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        # Claimed by a worker that is handing it to the provider right now; the worker
        # keeps `updated_at` fresh (a heartbeat) while it does. A row whose heartbeat went
        # stale lost its worker: the sweeper puts it back to pending, and it is sent again
        # with the same message_id (counted in `resends` when its attempt had started).
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # Per-recipient message identity (Braze has none; spec §7.3). Unique by a constraint
    # rather than `unique=True`, which on PostgreSQL adds a second (LIKE) index that no
    # query uses and that every row write would maintain.
    message_id = models.CharField(max_length=32, default=new_message_id)
    # No index of its own: the unique (dispatch, profile, channel) index starts with it.
    # NOTE: dispatch and campaign carry no database constraint. Every row of a chunk names
    # the same dispatch and campaign, which cannot go while it has rows: a dispatch is
    # only deleted through the ORM (whose collector deletes its rows first) and a campaign
    # with dispatches is protected (Dispatch.campaign). The two checks cost a third of the
    # INSERT of a chunk's rows (EXPLAIN ANALYZE, 3,000 rows: about 145 ms with them, 95
    # without). profile and variation keep theirs: those rows can go while a send runs.
    dispatch = models.ForeignKey(
        Dispatch, on_delete=models.CASCADE, related_name="deliveries", db_index=False,
        db_constraint=False,
    )
    profile = models.ForeignKey(
        Profile, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    channel = models.CharField(max_length=32, choices=Channel.choices)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False,
    )
    variation = models.ForeignKey(
        MessageVariation, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    send_id = models.CharField(max_length=64, blank=True)
    app_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Where it went (email address, URL, phone, token) and what was sent.
    address = models.TextField(blank=True)
    rendered = models.JSONField(default=dict, blank=True)
    # What {% message_extras %} attached to this send (spec §6).
    message_extras = models.JSONField(default=dict, blank=True)
    # Which adapter delivered it; "sandbox" deliveries only recorded the payload.
    provider = models.CharField(max_length=32, blank=True)
    provider_response = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set just before the row is handed to its adapter; a row found in `sending` with
    # this set may have reached the receiver, so its resend is counted.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    resends = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["dispatch", "profile", "channel"], name="one_delivery_per_recipient"
            ),
            models.UniqueConstraint(fields=["message_id"], name="delivery_message_id_unique"),
        ]
        indexes = [
            # The sweeper looks for rows stuck in sending every minute; a partial index keeps
            # that a lookup among the few in-flight rows, not a scan of every delivery.
            models.Index(
                fields=["updated_at"],
                name="delivery_sending_since",
                condition=models.Q(status="sending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.channel})"

    @property
    def is_sandbox(self) -> bool:
        return self.provider == "sandbox"


class ContentCard(models.Model):
    """A content card in one profile's feed."""

    card_id = models.CharField(max_length=32, unique=True, default=new_message_id)
    delivery = models.OneToOneField(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="content_card"
    )
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="content_cards")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    variation = models.ForeignKey(
        MessageVariation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    type = models.CharField(max_length=32, default="CLASSIC")
    title = models.TextField(blank=True)
    description = models.TextField(blank=True)
    image_url = models.TextField(blank=True)
    url = models.TextField(blank=True)
    uri_text = models.TextField(blank=True)
    # Per-platform click targets and webview flags, as sent (ios_uri, android_uri, web_uri…).
    uris = models.JSONField(default=dict, blank=True)
    pinned = models.BooleanField(default=False)
    extras = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pinned", "-created_at"]
        indexes = [models.Index(fields=["profile", "expires_at"])]

    def __str__(self) -> str:
        return self.title or self.card_id
