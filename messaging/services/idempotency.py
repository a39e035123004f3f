"""Idempotency-Key answers: how long they are kept, and forgetting them after that."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..models import IdempotencyRecord

IDEMPOTENCY_TTL = timedelta(hours=24)


def idempotency_records_purge() -> int:
    """Forget answers older than 24 hours (their keys may be reused); returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    return deleted
