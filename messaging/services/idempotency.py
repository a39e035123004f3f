"""Idempotency-Key answers: finding a stored one, storing one, forgetting them after 24 hours.

The endpoint option that uses them (`@endpoint(idempotent=True)`) is messaging.access.idempotency:
it stores the answer in the same transaction as the request's work.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..errors import IdempotencyKeyReused
from ..models import ApiKey, IdempotencyRecord

IDEMPOTENCY_TTL = timedelta(hours=24)


class IdempotencyConflict(Exception):
    """Another request with the same Idempotency-Key committed its answer first."""


def request_hash(data: Any) -> str:
    """A digest of a JSON body that ignores key order and whitespace."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_answer(*, api_key: ApiKey, key: str, body_hash: str) -> tuple[int, dict] | None:
    """The stored (status, body) for a retried request, or None the first time.

    Raises IdempotencyKeyReused when the key was used for another body within the TTL.
    """
    record = IdempotencyRecord.objects.filter(
        api_key=api_key, key=key, created_at__gte=timezone.now() - IDEMPOTENCY_TTL
    ).first()
    if record is None:
        return None
    if record.request_hash != body_hash:
        raise IdempotencyKeyReused(
            "Idempotency-Key: already used for another request in the last 24 hours"
        )
    return record.response_status, record.response_body


def idempotent_answer_store(
    *, api_key: ApiKey, key: str, body_hash: str, status: int, body: dict[str, Any]
) -> IdempotencyRecord:
    """Store the answer of a first request; run it inside the transaction of the work.

    The record is unique per (api_key, key): of two concurrent requests one commits, the
    other gets IdempotencyConflict and must roll its work back (the caller's transaction).
    """
    # An expired record of the same key gives way to the new request.
    IdempotencyRecord.objects.filter(
        api_key=api_key, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                api_key=api_key, key=key, request_hash=body_hash,
                response_status=status, response_body=body,
            )
    except IntegrityError:
        raise IdempotencyConflict from None


def idempotency_records_purge() -> int:
    """Forget answers older than 24 hours (their keys may be reused); returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    return deleted
