import uuid
from typing import Any

from django.db import models

from campaigns.models import Channel

from ..crypto import decrypt_json
from .apps import App


class Provider(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (records only, delivers nothing)"
    APNS = "apns", "Apple Push Notification service"
    FCM = "fcm", "Firebase Cloud Messaging (HTTP v1)"
    ADM = "adm", "Amazon Device Messaging"
    WEBPUSH = "webpush", "Web Push (VAPID)"
    TWILIO = "twilio", "Twilio-compatible Messages API"


# Which providers can carry which channel.
PROVIDERS_BY_CHANNEL: dict[str, list[str]] = {
    Channel.APPLE_PUSH: [Provider.APNS, Provider.SANDBOX],
    Channel.ANDROID_PUSH: [Provider.FCM, Provider.SANDBOX],
    Channel.KINDLE_PUSH: [Provider.ADM, Provider.SANDBOX],
    Channel.WEB_PUSH: [Provider.WEBPUSH, Provider.SANDBOX],
    Channel.SMS: [Provider.TWILIO, Provider.SANDBOX],
}


class ChannelConfig(models.Model):
    """How one app's messages on one channel reach the provider.

    Secrets (keys, tokens, service-account JSON) live only in `credentials_encrypted`;
    `options` holds what may be shown (team ID, project ID, account SID, senders…).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="channel_configs")
    channel = models.CharField(max_length=32, choices=Channel.choices)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    options = models.JSONField(default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    # Empty: the provider's public endpoint. Set it to reach a proxy or a local test server.
    base_url = models.URLField(max_length=500, blank=True)
    # APNs only: the development (sandbox) host instead of production.
    use_sandbox_host = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app__name", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["app", "channel"], name="one_config_per_app_channel")
        ]

    def __str__(self) -> str:
        return f"{self.app.name} · {self.get_channel_display()} · {self.provider}"

    @property
    def credentials(self) -> dict[str, Any]:
        return decrypt_json(self.credentials_encrypted)

    @property
    def is_sandbox(self) -> bool:
        return self.provider == Provider.SANDBOX
