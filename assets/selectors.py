"""Reads of Templates & Media."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Q, QuerySet

from .models import ContentBlock, EmailTemplate, MediaAsset


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def email_template_get(email_template_id: str) -> EmailTemplate | None:
    api_id = _uuid(email_template_id)
    if api_id is None:
        return None
    return EmailTemplate.objects.prefetch_related("tags").filter(api_id=api_id).first()


def content_block_get(content_block_id: str) -> ContentBlock | None:
    api_id = _uuid(content_block_id)
    if api_id is None:
        return None
    return ContentBlock.objects.prefetch_related("tags").filter(api_id=api_id).first()


def media_asset_get(asset_id: str) -> MediaAsset | None:
    api_id = _uuid(asset_id)
    if api_id is None:
        return None
    return MediaAsset.objects.filter(api_id=api_id).first()


def _window(
    queryset: QuerySet, *, modified_after: datetime | None, modified_before: datetime | None
) -> QuerySet:
    if modified_after is not None:
        queryset = queryset.filter(updated_at__gte=modified_after)
    if modified_before is not None:
        queryset = queryset.filter(updated_at__lte=modified_before)
    return queryset


def email_template_page(
    *, modified_after: datetime | None = None, modified_before: datetime | None = None,
    limit: int = 100, offset: int = 0,
) -> list[EmailTemplate]:
    """Templates most recently edited first (a stable order: ties by creation)."""
    queryset = _window(EmailTemplate.objects.prefetch_related("tags"),
                       modified_after=modified_after, modified_before=modified_before)
    return list(queryset.order_by("-updated_at", "-id")[offset:offset + limit])


def content_block_page(
    *, modified_after: datetime | None = None, modified_before: datetime | None = None,
    limit: int = 100, offset: int = 0,
) -> list[ContentBlock]:
    queryset = _window(ContentBlock.objects.prefetch_related("tags"),
                       modified_after=modified_after, modified_before=modified_before)
    return list(queryset.order_by("-updated_at", "-id")[offset:offset + limit])


def content_block_inclusions(blocks: list[ContentBlock]) -> dict[int, int]:
    """How many templates and other blocks include each block by its Liquid tag.

    Herald's reading of Braze's `inclusion_count`: API campaigns carry their copy in each
    request, so only the stored templates and blocks can include a block.
    """
    counts = {}
    for block in blocks:
        needle = "content_blocks.${" + block.name + "}"
        counts[block.pk] = (
            EmailTemplate.objects.filter(
                Q(body__contains=needle) | Q(subject__contains=needle)
                | Q(plaintext_body__contains=needle) | Q(preheader__contains=needle)
            ).count()
            + ContentBlock.objects.filter(content__contains=needle).exclude(pk=block.pk).count()
        )
    return counts


def active_block_contents(names: set[str]) -> dict[str, str]:
    """The content of each active block among `names` (drafts are not sent)."""
    if not names:
        return {}
    return dict(
        ContentBlock.objects.filter(name__in=names, state=ContentBlock.State.ACTIVE)
        .values_list("name", "content")
    )


def email_template_list(*, search: str = "") -> QuerySet[EmailTemplate]:
    queryset = EmailTemplate.objects.prefetch_related("tags")
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset.order_by("-updated_at", "-id")


def content_block_list(*, search: str = "") -> QuerySet[ContentBlock]:
    queryset = ContentBlock.objects.prefetch_related("tags")
    if search:
        queryset = queryset.filter(name__icontains=search)
    return queryset.order_by("name")


def media_asset_list() -> QuerySet[MediaAsset]:
    return MediaAsset.objects.order_by("-created_at", "-id")
