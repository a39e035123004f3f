"""REST endpoints: POST /messages/send and POST /sends/id/create (spec §3.1, §3.2)."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta

from django.http import HttpRequest, JsonResponse

from campaigns.models import Campaign
from config.api import ApiError, api_response, endpoint, validate

from .. import ratelimit
from ..schemas.messages import (
    SendBody,
    SendIdCreateBody,
    SendIdCreateResponse,
    SendResponse,
    send_id_problem,
)
from ..services import dispatch as dispatch_services

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _precheck_extra(data: dict) -> None:
    """Braze's own error for a push `extra` that is not an object (spec §2.4), before pydantic."""
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return
    for name in ("apple_push", "ios_push", "android_push", "kindle_push", "web_push"):
        message = messages.get(name)
        if (
            isinstance(message, dict)
            and "extra" in message
            and message["extra"] is not None
            and not isinstance(message["extra"], dict)
        ):
            raise ApiError(
                400, "Invalid Extra Push Payload", [f"messages.{name}.extra: must be an object"]
            )


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 255 or not key.isascii():
        raise ApiError(400, "Bad Request", [f"{IDEMPOTENCY_HEADER}: 1 to 255 ASCII characters"])
    return key


def _replay(status: int, body: dict) -> JsonResponse:
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Idempotent-Replayed"] = "true"
    return response


@endpoint(
    "/messages/send",
    permission="messages.send",
    rate_limit="messages.send",
    summary="Send messages whose content is in the request (API campaign)",
    body=SendBody,
    response=SendResponse,
    success_status=201,
    tags=("Messaging",),
)
def messages_send(request: HttpRequest) -> JsonResponse:
    """Validate the whole request, write one dispatch, answer `201` with its `dispatch_id`.

    Delivery happens afterwards, in workers. Unknown recipients are reported in `errors`
    while the others are still sent. Beyond Braze: an `Idempotency-Key` header makes a
    retried request return the original answer for 24 hours; the same key with another
    body gets a 422. Broadcasts and segment sends count against the broadcast limit
    (250 requests per minute) in addition to the shared hourly pool.
    """
    data = request.json
    if _has_nul(data):
        # PostgreSQL can store no NUL character in text or JSON; refuse it up front.
        raise ApiError(400, "Bad Request", ["body: strings may not contain NUL (\\u0000)"])
    _precheck_extra(data)
    body: SendBody = validate(SendBody, data)

    broadcast_headers: dict[str, str] = {}
    if body.broadcast or body.segment_id:
        # NOTE: the guard has counted this request in the `messages.send` pool; a broadcast
        # also counts in its own, stricter scope (spec §2.6), whose headers we answer with.
        broadcast_headers = ratelimit.hit(
            key_id=request.api_key.pk, scope="messages.send.broadcast"
        )

    key = _idempotency_key(request)
    body_hash = dispatch_services.request_hash(data) if key else ""
    if key:
        stored = dispatch_services.idempotent_answer(
            api_key=request.api_key, key=key, body_hash=body_hash
        )
        if stored is not None:
            return _replay(*stored)

    plan = dispatch_services.send_plan_build(body=body)
    try:
        _, answer = dispatch_services.dispatch_create(
            api_key=request.api_key, plan=plan, idempotency_key=key, body_hash=body_hash
        )
    except dispatch_services.IdempotencyConflict:
        # A concurrent request with the same key committed first: answer as a retry would.
        stored = dispatch_services.idempotent_answer(
            api_key=request.api_key, key=key, body_hash=body_hash
        )
        if stored is None:  # pragma: no cover - the winner's record is committed by now
            raise ApiError(409, "A request with this Idempotency-Key is in progress") from None
        return _replay(*stored)
    response = JsonResponse(answer, status=201, json_dumps_params={"ensure_ascii": False})
    for name, value in broadcast_headers.items():
        response[name] = value
    return response


def _quota_headers(used: int) -> dict[str, str]:
    now = int(time.time())
    return {
        "X-RateLimit-Limit": str(dispatch_services.SEND_ID_DAILY_QUOTA),
        "X-RateLimit-Remaining": str(max(dispatch_services.SEND_ID_DAILY_QUOTA - used, 0)),
        # Rolling 24-hour window: the oldest creation frees a slot; a day from now at the latest.
        "X-RateLimit-Reset": str(now + int(timedelta(days=1).total_seconds())),
    }


@endpoint(
    "/sends/id/create",
    permission="sends.id.create",
    summary="Create a send identifier for a campaign",
    body=SendIdCreateBody,
    response=SendIdCreateResponse,
    success_status=201,
    tags=("Messaging",),
)
def sends_id_create(request: HttpRequest) -> JsonResponse:
    """Create a `send_id` to report on one or more sends of a campaign separately.

    ASCII, at most 64 characters; generated when omitted. At most 100 are created per
    day for the whole installation (a campaign + send_id pair counts once); beyond → 429.
    """
    body: SendIdCreateBody = validate(SendIdCreateBody, request.json)
    try:
        campaign = Campaign.objects.filter(api_id=uuid.UUID(body.campaign_id)).first()
    except ValueError:
        campaign = None
    if campaign is None:
        raise ApiError(
            400, "Invalid Campaign ID", [f"campaign_id: no campaign {body.campaign_id!r}"]
        )
    if campaign.is_archived:
        raise ApiError(400, dispatch_services.ARCHIVED_TEXT, ["campaign_id: archived"])
    send_id = body.send_id if body.send_id is not None else secrets.token_hex(8)
    problem = send_id_problem(send_id)
    if problem:
        raise ApiError(400, "Bad Request", [f"send_id: {problem}"])
    try:
        row, _ = dispatch_services.send_id_create(campaign=campaign, send_id=send_id)
    except ApiError as error:
        error.headers = {**_quota_headers(dispatch_services.SEND_ID_DAILY_QUOTA), **error.headers}
        raise
    response = api_response({"send_id": row.send_id}, status=201)
    for name, value in _quota_headers(dispatch_services.send_ids_created_today()).items():
        response[name] = value
    return response
