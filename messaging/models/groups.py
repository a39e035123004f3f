import uuid

from django.db import models


def _new_group_id() -> str:
    return str(uuid.uuid4())


class SubscriptionGroup(models.Model):
    """A Braze subscription group: an email list, or SMS numbers a user may opt in to.

    `group_id` is a string, not a UUID column: groups registered by the data migration keep
    whatever IDs clients stored on profiles before Herald had a registry.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS/MMS"

    group_id = models.CharField(max_length=255, unique=True, default=_new_group_id,
                                editable=False)
    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # SMS groups: the sender numbers (E.164) messages of this group go out from.
    sender_numbers = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"
