"""Who did what: the audit log, and the account-wide security policy."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One security-relevant action. `changes` never holds a secret, only what changed."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept apart from the foreign key so the entry still says who once the account is gone
    # (and for failed logins, what name was tried).
    actor_name = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Dotted, as pretix names them: `api_key.created`, `campaign.archived`, `login.failed`.
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action}"


class SecurityPolicy(models.Model):
    """Account-wide switches an Admin sets on the Team page (one row, pk=1)."""

    require_two_factor = models.BooleanField(
        default=False, help_text="Every account must set up and use a TOTP authenticator."
    )

    class Meta:
        verbose_name_plural = "security policy"

    def __str__(self) -> str:
        return "Security policy"

    @classmethod
    def current(cls) -> SecurityPolicy:
        return cls.objects.get_or_create(pk=1)[0]
