"""The `idempotent=True` option of `@endpoint`: with an Idempotency-Key, a POST is safe to retry.

Beyond Braze (spec §7: its send endpoints have none). With a key, the view runs inside one
transaction that also stores its answer (unique per API key and Idempotency-Key), so the
work and the record commit together, and work enqueued with `transaction.on_commit` starts
only after both are committed. Then, for 24 hours:

- the same key with the same body gets the stored answer, with `Idempotent-Replayed: true`;
- the same key with another body gets a 422 (IdempotencyKeyReused);
- a concurrent duplicate loses the race on the unique record: its work is rolled back (and
  never enqueued) and it answers with the winner's stored answer.

Only successful (2xx) answers are stored: a refused request may be corrected and retried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from config.api import ApiError
from config.api.envelope import stored_response

from ..services.idempotency import (
    IdempotencyConflict,
    idempotent_answer,
    idempotent_answer_store,
    request_hash,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, None without one, or a 400 for a malformed one."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    # As the OpenAPI document says: printable ASCII (no control character), 1 to 255 of them.
    if not key or len(key) > 255 or not (key.isascii() and key.isprintable()):
        raise ApiError(400, "Bad Request",
                       [f"{IDEMPOTENCY_HEADER}: 1 to 255 printable ASCII characters"])
    return key


def _replay(status: int, body: dict[str, Any]) -> HttpResponse:
    response = stored_response(status, body)
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(
    request: HttpRequest, data: dict[str, Any], run: Callable[[], HttpResponse]
) -> HttpResponse:
    """Answer `run()` once per (API key, Idempotency-Key) and request body `data`."""
    key = idempotency_key(request)
    if key is None:
        return run()
    body_hash = request_hash(data)
    stored = idempotent_answer(api_key=request.api_key, key=key, body_hash=body_hash)
    if stored is not None:
        return _replay(*stored)
    try:
        with transaction.atomic():
            response = run()
            if 200 <= response.status_code < 300:
                idempotent_answer_store(
                    api_key=request.api_key, key=key, body_hash=body_hash,
                    status=response.status_code, body=json.loads(response.content),
                )
    except IdempotencyConflict:
        # A concurrent request with the same key committed first: answer as a retry would.
        stored = idempotent_answer(api_key=request.api_key, key=key, body_hash=body_hash)
        if stored is None:  # pragma: no cover - the winner's record is committed by now
            raise ApiError(409, "A request with this Idempotency-Key is in progress") from None
        return _replay(*stored)
    return response
