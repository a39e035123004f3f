"""REST endpoints: POST /messages/send and POST /sends/id/create (spec §3.1, §3.2)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, JsonResponse

from config.api import ApiError, api_error, api_response, endpoint

from ..access import ratelimit
from ..errors import QuotaExceeded
from ..schemas.messages import SendBody, SendIdCreateBody, SendIdCreateResponse, SendResponse
from ..services import dispatch as dispatch_services

PUSH_MESSAGES = ("apple_push", "ios_push", "android_push", "kindle_push", "web_push")


def _precheck_extra(data: dict[str, Any]) -> dict[str, Any]:
    """Braze's own error for a push `extra` that is not an object (spec §2.4), before pydantic."""
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return data
    for name in PUSH_MESSAGES:
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
    return data


@endpoint(
    "/messages/send",
    permission="messages.send",
    rate_limit="messages.send",
    summary="Send messages whose content is in the request (API campaign)",
    body=SendBody,
    response=SendResponse,
    success_status=201,
    tags=("Messaging",),
    prepare=_precheck_extra,
    idempotent=True,
)
def messages_send(request: HttpRequest, body: SendBody) -> JsonResponse:
    """Validate the whole request, write one dispatch, answer `201` with its `dispatch_id`.

    Delivery happens afterwards, in workers. Unknown recipients are reported in `errors`
    while the others are still sent. Beyond Braze: an `Idempotency-Key` header makes a
    retried request return the original answer for 24 hours; the same key with another
    body gets a 422. Broadcasts and segment sends count against the broadcast limit
    (250 requests per minute) in addition to the shared hourly pool.
    """
    broadcast_headers: dict[str, str] = {}
    if body.broadcast or body.segment_id:
        # NOTE: the guard has counted this request in the `messages.send` pool; a broadcast
        # also counts in its own, stricter scope (spec §2.6), whose headers we answer with.
        broadcast_headers = ratelimit.hit(
            key=request.api_key.prefix, scope="messages.send.broadcast"
        )
    plan = dispatch_services.send_plan_build(body=body)
    _, answer = dispatch_services.dispatch_create(api_key=request.api_key, plan=plan)
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
def sends_id_create(request: HttpRequest, body: SendIdCreateBody) -> JsonResponse:
    """Create a `send_id` to report on one or more sends of a campaign separately.

    ASCII, at most 64 characters; generated when omitted. At most 100 are created per
    day for the whole installation (a campaign + send_id pair counts once); beyond → 429.
    """
    try:
        row, _ = dispatch_services.send_id_create(campaign_id=body.campaign_id,
                                                  send_id=body.send_id)
    except QuotaExceeded as exc:
        # The quota's own window, not the key's hourly pool, describes this refusal.
        headers = _quota_headers(dispatch_services.SEND_ID_DAILY_QUOTA)
        raise api_error(exc, headers=headers) from None
    response = api_response({"send_id": row.send_id}, status=201)
    for name, value in _quota_headers(dispatch_services.send_ids_created_today()).items():
        response[name] = value
    return response
