import secrets

from django.db import models

from .apps import App

SDK_KEY_PREFIX = "hrld_pub_"


def new_sdk_key() -> str:
    return SDK_KEY_PREFIX + secrets.token_urlsafe(24)


class SdkKey(models.Model):
    """The public key of a web app's JavaScript SDK (messaging.sdk), one per web app.

    A key type of its own: it ships inside the customer's web pages, so it is stored in
    clear, holds no REST permission (the REST guard never accepts it), and only says which
    web app a browser talks for. What a browser may write for a user is proved by that
    user's signed token, never by this key. Browsers may call with it only from
    `allowed_origins` (CORS).
    """

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="sdk_key")
    key = models.CharField(max_length=64, unique=True, default=new_sdk_key)
    # Exact origins ("https://shop.example", "http://localhost:8000"); empty: no browser.
    allowed_origins = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SDK key"

    def __str__(self) -> str:
        return f"{self.app.name}: {self.key[:16]}…"

    def allows_origin(self, origin: str) -> bool:
        return origin in self.allowed_origins
