import uuid

from django.db import models


class App(models.Model):
    """One platform integration of this installation; its `app_id` goes in message objects."""

    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        KINDLE = "kindle", "Kindle"
        WEB = "web", "Web"
        EMAIL = "email", "Email"

    api_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def app_id(self) -> str:
        return str(self.api_id)
