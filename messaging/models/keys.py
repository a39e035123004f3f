import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models


class Permission(models.TextChoices):
    """REST API permissions, named as Braze names them (spec §2.2)."""

    MESSAGES_SEND = "messages.send"
    SENDS_ID_CREATE = "sends.id.create"
    MESSAGES_SCHEDULE_CREATE = "messages.schedule.create"
    MESSAGES_SCHEDULE_UPDATE = "messages.schedule.update"
    MESSAGES_SCHEDULE_DELETE = "messages.schedule.delete"
    MESSAGES_SCHEDULE_BROADCASTS = "messages.schedule_broadcasts"
    CAMPAIGNS_TRIGGER_SEND = "campaigns.trigger.send"
    CAMPAIGNS_TRIGGER_SCHEDULE_CREATE = "campaigns.trigger.schedule.create"
    CAMPAIGNS_TRIGGER_SCHEDULE_UPDATE = "campaigns.trigger.schedule.update"
    CAMPAIGNS_TRIGGER_SCHEDULE_DELETE = "campaigns.trigger.schedule.delete"
    USERS_TRACK = "users.track"
    USERS_ALIAS_NEW = "users.alias.new"
    USERS_IDENTIFY = "users.identify"
    USERS_DELETE = "users.delete"
    USERS_EXPORT_IDS = "users.export.ids"
    EMAIL_STATUS = "email.status"
    EMAIL_UNSUBSCRIBE = "email.unsubscribe"
    SUBSCRIPTION_STATUS_SET = "subscription.status.set"
    SUBSCRIPTION_STATUS_GET = "subscription.status.get"
    SUBSCRIPTION_GROUPS_GET = "subscription.groups.get"
    CAMPAIGNS_LIST = "campaigns.list"
    CAMPAIGNS_DETAILS = "campaigns.details"
    CAMPAIGNS_DATA_SERIES = "campaigns.data_series"
    SENDS_DATA_SERIES = "sends.data_series"
    SEGMENTS_LIST = "segments.list"
    SEGMENTS_DETAILS = "segments.details"
    CONTENT_CARDS_READ = "content_cards.read"
    ENGAGEMENT_TRACK = "engagement.track"
    TEMPLATES_EMAIL_CREATE = "templates.email.create"
    TEMPLATES_EMAIL_UPDATE = "templates.email.update"
    TEMPLATES_EMAIL_INFO = "templates.email.info"
    TEMPLATES_EMAIL_LIST = "templates.email.list"
    CONTENT_BLOCKS_CREATE = "content_blocks.create"
    CONTENT_BLOCKS_UPDATE = "content_blocks.update"
    CONTENT_BLOCKS_INFO = "content_blocks.info"
    CONTENT_BLOCKS_LIST = "content_blocks.list"
    USERS_MERGE = "users.merge"
    USERS_ALIAS_UPDATE = "users.alias.update"
    USERS_EXTERNAL_IDS_RENAME = "users.external_ids.rename"
    USERS_EXTERNAL_IDS_REMOVE = "users.external_ids.remove"
    USERS_EXPORT_SEGMENT = "users.export.segment"
    USERS_EXPORT_GLOBAL_CONTROL_GROUP = "users.export.global_control_group"
    SEGMENTS_DATA_SERIES = "segments.data_series"
    EVENTS_LIST = "events.list"
    EVENTS_DATA_SERIES = "events.data_series"
    EVENTS_GET = "events.get"
    PURCHASES_PRODUCT_LIST = "purchases.product_list"
    PURCHASES_QUANTITY_SERIES = "purchases.quantity_series"
    PURCHASES_REVENUE_SERIES = "purchases.revenue_series"
    SESSIONS_DATA_SERIES = "sessions.data_series"
    KPI_NEW_USERS_DATA_SERIES = "kpi.new_users.data_series"
    KPI_DAU_DATA_SERIES = "kpi.dau.data_series"
    KPI_MAU_DATA_SERIES = "kpi.mau.data_series"
    KPI_UNINSTALLS_DATA_SERIES = "kpi.uninstalls.data_series"
    EMAIL_BLACKLIST = "email.blacklist"
    EMAIL_BOUNCE_REMOVE = "email.bounce.remove"
    EMAIL_SPAM_REMOVE = "email.spam.remove"
    EMAIL_HARD_BOUNCES = "email.hard_bounces"
    EMAIL_SPAM = "email.spam"
    # Herald's own (no Braze endpoint takes complaints): POST /email/feedback.
    EMAIL_FEEDBACK = "email.feedback"


KEY_PREFIX = "hrld_"


def _digest(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a fast unkeyed hash is enough (no slow KDF, no
    # pepper): a leaked database alone does not give usable keys.
    # NOTE: not keyed with SECRET_KEY on purpose: development processes each draw a random
    # SECRET_KEY (config/settings.py), and rotating it in production must not void every key.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A REST API key. Only a lookup prefix and a keyed digest are stored."""

    name = models.CharField(max_length=100)
    # First characters of the key, shown in lists and used to find the row.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    permissions = models.JSONField(default=list, blank=True)
    # CIDRs; empty means any address.
    allowed_networks = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """Return (full key, prefix, digest) for a new key."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        return key, key[:12], _digest(key)

    @staticmethod
    def prefix_of(key: str) -> str:
        return key[:12]

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.digest, _digest(key))
