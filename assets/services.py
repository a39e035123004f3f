"""Writes of Templates & Media: templates, content blocks, uploaded images.

Each function validates completely before it writes, runs in one transaction, and raises a
domain error (assets.errors) that the API edge answers in Braze's words.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from campaigns.models import Tag

from .errors import (
    ActiveBlockToDraft,
    DuplicateContentBlockName,
    InvalidAsset,
    UnknownTags,
)
from .models import (
    BLOCK_CONTENT_MAX_BYTES,
    MEDIA_TYPES,
    TEMPLATE_BODY_MAX_BYTES,
    ContentBlock,
    EmailTemplate,
    MediaAsset,
)

# Uploads: images only, at most 5 MB (Braze's media library takes images up to 5 MB).
MEDIA_MAX_BYTES = 5 * 1024 * 1024
MEDIA_MAX_PIXELS = 40_000_000


def _tags(names: Sequence[str] | None) -> list[Tag] | None:
    if names is None:
        return None
    wanted = list(dict.fromkeys(names))
    found = {tag.name: tag for tag in Tag.objects.filter(name__in=wanted)}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise UnknownTags(*(f"tags: no tag {name!r}" for name in missing))
    return [found[name] for name in wanted]


def _clean(obj: EmailTemplate | ContentBlock) -> None:
    try:
        obj.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        raise InvalidAsset(
            *(f"{field}: {message}" for field, messages in exc.message_dict.items()
              for message in messages)
        ) from None


def _template_rules(template: EmailTemplate) -> None:
    if not template.name.strip():
        raise InvalidAsset("template_name: Template name cannot be blank")
    if not template.body.strip():
        raise InvalidAsset("body: Template body cannot be blank")
    if len(template.body.encode()) > TEMPLATE_BODY_MAX_BYTES:
        raise InvalidAsset("body: Template body must be smaller than 400 KB")


@dataclass(frozen=True)
class TemplateFields:
    """What create and update may set; None leaves a field as it is (update)."""

    name: str | None = None
    subject: str | None = None
    body: str | None = None
    plaintext_body: str | None = None
    preheader: str | None = None
    description: str | None = None
    should_inline_css: bool | None = None
    tags: Sequence[str] | None = None


def _apply(template: EmailTemplate, fields: TemplateFields) -> list[Tag] | None:
    for name in ("name", "subject", "body", "plaintext_body", "preheader", "description",
                 "should_inline_css"):
        value = getattr(fields, name)
        if value is not None:
            setattr(template, name, value)
    tags = _tags(fields.tags)
    _template_rules(template)
    _clean(template)
    return tags


@transaction.atomic
def email_template_create(
    *, fields: TemplateFields, by: AbstractBaseUser | None = None
) -> EmailTemplate:
    template = EmailTemplate(created_by=by)
    tags = _apply(template, fields)
    template.save()
    if tags:
        template.tags.set(tags)
    return template


@transaction.atomic
def email_template_update(*, template: EmailTemplate, fields: TemplateFields) -> EmailTemplate:
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    tags = _apply(template, fields)
    template.save()
    if tags is not None:
        template.tags.set(tags)
    return template


@dataclass(frozen=True)
class BlockFields:
    name: str | None = None
    description: str | None = None
    content: str | None = None
    state: str | None = None
    tags: Sequence[str] | None = None


def _block_rules(block: ContentBlock) -> None:
    if not block.name:
        raise InvalidAsset("name: Content Block name cannot be blank")
    if len(block.name) >= 100:
        raise InvalidAsset("name: Content Block name must be less than 100 characters")
    if len(block.description) >= 250:
        raise InvalidAsset(
            "description: Content Block description must be less than 250 characters"
        )
    if not block.content.strip():
        raise InvalidAsset("content: Content Block content cannot be blank")
    if len(block.content.encode()) > BLOCK_CONTENT_MAX_BYTES:
        raise InvalidAsset("content: Content must be smaller than 50kb")
    if block.state not in ContentBlock.State.values:
        raise InvalidAsset("state: Content Block state must be either active or draft")


def _apply_block(block: ContentBlock, fields: BlockFields) -> list[Tag] | None:
    was_active = block.pk is not None and block.state == ContentBlock.State.ACTIVE
    for name in ("name", "description", "content", "state"):
        value = getattr(fields, name)
        if value is not None:
            setattr(block, name, value)
    if was_active and block.state == ContentBlock.State.DRAFT:
        raise ActiveBlockToDraft(
            "state: Active Content Block can not be updated to Draft. "
            "Create a new Content Block."
        )
    _block_rules(block)
    if ContentBlock.objects.filter(name=block.name).exclude(pk=block.pk).exists():
        raise DuplicateContentBlockName("name: Content Block with this name already exists")
    tags = _tags(fields.tags)
    _clean(block)
    return tags


def _save_block(block: ContentBlock) -> None:
    try:
        with transaction.atomic():
            block.save()
    except IntegrityError:
        # Two requests raced for one name: the unique index kept only the first.
        raise DuplicateContentBlockName(
            "name: Content Block with this name already exists"
        ) from None


@transaction.atomic
def content_block_create(
    *, fields: BlockFields, by: AbstractBaseUser | None = None
) -> ContentBlock:
    block = ContentBlock(created_by=by, state=fields.state or ContentBlock.State.ACTIVE)
    tags = _apply_block(block, fields)
    _save_block(block)
    if tags:
        block.tags.set(tags)
    return block


@transaction.atomic
def content_block_update(*, block: ContentBlock, fields: BlockFields) -> ContentBlock:
    block = ContentBlock.objects.select_for_update().get(pk=block.pk)
    tags = _apply_block(block, fields)
    _save_block(block)
    if tags is not None:
        block.tags.set(tags)
    return block


# --- Media ----------------------------------------------------------------------------------


def _sniff(head: bytes) -> str | None:
    """The image type the file's first bytes show; None for anything else."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _dimensions(data: bytes, content_type: str) -> tuple[int, int] | None:
    """Width and height from the image's header (no decoding); None when unreadable."""
    try:
        if content_type == "image/png":
            if data[12:16] != b"IHDR":
                return None
            return struct.unpack(">II", data[16:24])
        if content_type == "image/gif":
            return struct.unpack("<HH", data[6:10])
        if content_type == "image/webp":
            chunk = data[12:16]
            if chunk == b"VP8 ":
                width, height = struct.unpack("<HH", data[26:30])
                return width & 0x3FFF, height & 0x3FFF
            if chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            if chunk == b"VP8X":
                return (int.from_bytes(data[24:27], "little") + 1,
                        int.from_bytes(data[27:30], "little") + 1)
            return None
        # JPEG: walk the segments to the first start-of-frame marker.
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                return None
            marker = data[index + 1]
            length = int.from_bytes(data[index + 2:index + 4], "big")
            if marker in _JPEG_FRAMES:
                height, width = struct.unpack(">HH", data[index + 5:index + 9])
                return width, height
            index += 2 + length
        return None
    except struct.error:
        return None


_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@transaction.atomic
def media_asset_create(
    *, name: str, data: bytes, by: AbstractBaseUser | None = None
) -> MediaAsset:
    """Store an uploaded image; refuse a wrong type or size before anything is written."""
    if not data:
        raise InvalidAsset("file: the file is empty")
    if len(data) > MEDIA_MAX_BYTES:
        raise InvalidAsset(
            f"file: {len(data) / 1024 / 1024:.1f} MB is over the limit of "
            f"{MEDIA_MAX_BYTES // 1024 // 1024} MB"
        )
    content_type = _sniff(data[:16])
    if content_type is None:
        allowed = ", ".join(ext.upper() for ext in MEDIA_TYPES.values())
        raise InvalidAsset(f"file: not an image Herald accepts ({allowed})")
    size = _dimensions(data, content_type)
    if size is None or 0 in size:
        raise InvalidAsset("file: the image cannot be read")
    width, height = size
    if width * height > MEDIA_MAX_PIXELS:
        raise InvalidAsset(f"file: {width}×{height} pixels is too large")
    asset = MediaAsset(
        api_id=uuid.uuid4(), name=(name or "image")[:255], content_type=content_type,
        size=len(data), width=width, height=height, created_by=by,
    )
    # The storage writes the file; should the row fail to save, the transaction rolls back
    # and the file is removed below, so nothing is left half-written.
    asset.file.save(f"upload.{asset.extension}", ContentFile(data), save=False)
    try:
        asset.save()
    except Exception:
        asset.file.delete(save=False)
        raise
    return asset


@transaction.atomic
def media_asset_delete(*, asset: MediaAsset) -> None:
    """Delete the row, then its file once the deletion is committed."""
    storage, file_name = asset.file.storage, asset.file.name
    asset.delete()
    transaction.on_commit(lambda: storage.delete(file_name))
