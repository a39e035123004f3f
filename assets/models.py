"""Templates & Media: email templates, content blocks and uploaded images.

Each object is addressed by an opaque random `api_id` (Braze's `email_template_id`,
`content_block_id`); primary keys stay internal. Tags are names of `campaigns.Tag`: Braze
says they "must already exist", and Herald's tags are the campaigns' ones.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

# Braze: the body of an email template is at most 400 KB; a content block's name is "less
# than 100 characters", its description "less than 250". The rest is Herald's choice
# (docs/assets.md).
TEMPLATE_BODY_MAX_BYTES = 400 * 1024
TEMPLATE_NAME_MAX = 255
BLOCK_NAME_MAX = 99
BLOCK_DESCRIPTION_MAX = 249
BLOCK_CONTENT_MAX_BYTES = 50 * 1024
BLOCK_NAME_PATTERN = r"^[A-Za-z0-9_-]+$"


class EmailTemplate(models.Model):
    api_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("template name", max_length=TEMPLATE_NAME_MAX)
    description = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=998)  # RFC 5322's line limit
    body = models.TextField()
    plaintext_body = models.TextField(blank=True)
    preheader = models.CharField(max_length=255, blank=True)
    should_inline_css = models.BooleanField(null=True, blank=True)
    tags = models.ManyToManyField("campaigns.Tag", blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def email_template_id(self) -> str:
        return str(self.api_id)


class ContentBlock(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        DRAFT = "draft", "Draft"

    api_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(
        max_length=BLOCK_NAME_MAX, unique=True,
        validators=[RegexValidator(
            BLOCK_NAME_PATTERN, "Content Block name can only contain letters, numbers, "
            "hyphens and underscores",
        )],
    )
    description = models.CharField(max_length=BLOCK_DESCRIPTION_MAX, blank=True)
    content = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    tags = models.ManyToManyField("campaigns.Tag", blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def content_block_id(self) -> str:
        return str(self.api_id)

    @property
    def liquid_tag(self) -> str:
        return "{{content_blocks.${" + self.name + "}}}"

    @property
    def content_type(self) -> str:
        # Braze answers "html or text"; Herald calls it html when the content holds a tag.
        return "html" if "<" in self.content and ">" in self.content else "text"


def _media_path(instance: MediaAsset, filename: str) -> str:
    # A random name that says nothing of the uploader's file name; the extension follows
    # the checked type, not what the name claimed.
    return f"media/{instance.api_id.hex}.{instance.extension}"


class MediaAsset(models.Model):
    """An uploaded image, stored through Django's default storage (local disk or S3)."""

    api_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=_media_path, max_length=255)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "media asset"

    def __str__(self) -> str:
        return self.name

    @property
    def extension(self) -> str:
        return MEDIA_TYPES.get(self.content_type, "bin")


# The image types Herald accepts, by the type their first bytes show (never the name).
MEDIA_TYPES = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
