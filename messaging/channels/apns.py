"""iOS push through APNs: HTTP/2, token-based auth (ES256 JWT signed with a .p8 key).

Reference: Apple's "Sending notification requests to APNs" and "Establishing a
token-based connection to APNs". APNs speaks HTTP/2 only: the process's HTTP/2 client
(messaging.channels.http2) keeps one connection to it, which carries every notification
of a batch as concurrent streams.

Message ID: `apns-id` is the delivery's message ID as a UUID (the same 32 hex digits), so
a resend carries the same apns-id. APNs echoes it and Apple's feedback names it; APNs
itself does not drop duplicates, so it correlates rather than deduplicates.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import jwt

from . import http, http2
from .base import Outcome, Outgoing, Result
from .payload import copy_fields

PRODUCTION_URL = "https://api.push.apple.com"
SANDBOX_URL = "https://api.sandbox.push.apple.com"
# Apple refuses tokens older than an hour and throttles refreshes more often than every
# 20 minutes; refreshing after 50 minutes stays inside both rules.
TOKEN_LIFETIME = 50 * 60
# Answers that mean the device token is dead: forget it. NOTE: not DeviceTokenNotForTopic,
# which a wrong bundle ID in our settings would return for every token of the app.
DEAD_TOKEN_REASONS = {"BadDeviceToken", "Unregistered"}
# Braze's field names for the alert object → APNs's (hyphenated) keys.
ALERT_KEYS = {
    "body": "body",
    "title": "title",
    "title_loc_key": "title-loc-key",
    "title_loc_args": "title-loc-args",
    "action_loc_key": "action-loc-key",
    "loc_key": "loc-key",
    "loc_args": "loc-args",
    "sound": "sound",
}


@dataclass
class ApnsConfig:
    team_id: str
    key_id: str
    topic: str  # the app's bundle ID
    private_key: str  # the .p8 file's PEM text
    use_sandbox_host: bool = False
    base_url: str = ""
    retry: http.RetryPolicy = field(default_factory=http.RetryPolicy)
    concurrency: int = 32  # streams in flight on the HTTP/2 connection


def _epoch(value: Any) -> int | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(when.timestamp())


def build_request(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The APNs JSON body and headers for one Braze `apple_push` object."""
    aps: dict[str, Any] = {}
    alert = payload.get("alert")
    if isinstance(alert, dict):
        aps["alert"] = {ALERT_KEYS[k]: v for k, v in alert.items() if k in ALERT_KEYS}
    elif alert:
        aps["alert"] = alert
    copy_fields(
        payload,
        aps,
        (
            ("badge", "badge"),
            ("sound", "sound"),
            ("category", "category"),
            ("notification_group_thread_id", "thread-id"),
            ("interruption_level", "interruption-level"),
            ("relevance_score", "relevance-score"),
        ),
    )
    background = bool(payload.get("content-available"))
    if background:
        aps["content-available"] = 1
    if payload.get("mutable_content") or payload.get("asset_url"):
        # Rich notifications need the service extension, which mutable-content wakes.
        aps["mutable-content"] = 1

    body: dict[str, Any] = dict(payload.get("extra") or {})
    body["aps"] = aps
    # Keys the Braze iOS SDK reads: tap URI, web view choice, media attachment, buttons.
    braze: dict[str, Any] = {}
    if payload.get("custom_uri"):
        body["ab_uri"] = payload["custom_uri"]
        body["ab_use_webview"] = payload.get("use_webview", True)
    if payload.get("asset_url"):
        braze["att"] = {"url": payload["asset_url"], "type": payload.get("asset_file_type", "")}
    if payload.get("buttons"):
        braze["buttons"] = payload["buttons"]
    if braze:
        body["ab"] = braze

    alerting = "alert" in aps
    headers = {
        "apns-push-type": "alert" if alerting or not background else "background",
        # Apple requires priority 5 for background pushes.
        "apns-priority": str(payload.get("apns_priority") or (10 if alerting else 5)),
    }
    if payload.get("collapse_id"):
        headers["apns-collapse-id"] = str(payload["collapse_id"])[:64]
    expiry = _epoch(payload.get("expiry"))
    if expiry is not None:
        headers["apns-expiration"] = str(expiry)
    return body, headers


def apns_id(message_id: str) -> str:
    """The apns-id of a message: its 32-hex ID as a UUID; any other ID, a UUID derived from
    it (uuid5), so it is stable either way."""
    try:
        return str(uuid.UUID(hex=message_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, message_id))


class ApnsAdapter(http.HttpProviderAdapter):
    name = "apns"

    def __init__(self, config: ApnsConfig, **shared: Any) -> None:
        # `client`: the process's HTTP/2 AsyncClient (messaging.channels.http2).
        super().__init__(config, **shared)
        self.base_url = (
            config.base_url or (SANDBOX_URL if config.use_sandbox_host else PRODUCTION_URL)
        ).rstrip("/")
        self._jwt = ""
        self._jwt_issued = 0.0
        self._jwt_lock = threading.Lock()
        self.jwt_issued_count = 0

    def provider_token(self, now: float | None = None) -> str:
        """The signed JWT, re-signed once it is TOKEN_LIFETIME old."""
        now = time.time() if now is None else now
        # One signer at a time: a batch's threads all want the token at once, and APNs
        # refuses tokens renewed too often (TooManyProviderTokenUpdates).
        with self._jwt_lock:
            if not self._jwt or now - self._jwt_issued >= TOKEN_LIFETIME:
                self._jwt = jwt.encode(
                    {"iss": self.config.team_id, "iat": int(now)},
                    self.config.private_key,
                    algorithm="ES256",
                    headers={"kid": self.config.key_id},
                )
                self._jwt_issued = now
                self.jwt_issued_count += 1
            return self._jwt

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        async def worker(item: Outgoing) -> Outcome:
            return await self._send_one(item, deadline)

        return http2.run(
            http2.run_batch(
                items,
                worker,
                concurrency=self.config.concurrency,
                deadline=deadline,
                cap=self.timeout + 5.0,
                limiter=self.limiter,
            )
        )

    async def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:  # type: ignore[override]
        body, headers = build_request(item.payload)
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers["apns-topic"] = self.config.topic
        headers["content-type"] = "application/json"
        # The same apns-id on every send of this message (see the module docstring).
        headers["apns-id"] = apns_id(item.message_id)
        url = f"{self.base_url}/3/device/{item.address}"
        refreshed = False

        async def send() -> httpx.Response:
            headers["authorization"] = f"bearer {self.provider_token()}"
            return await self._client.post(
                url, content=content, headers=headers, timeout=self._timeout
            )

        while True:
            outcome = await http2.send_with_retry(
                send, self._interpret, self.config.retry, deadline
            )
            # An expired provider token is ours to fix: sign a new one and try once more.
            if outcome.details.get("reason") == "ExpiredProviderToken" and not refreshed:
                # Many streams may fail at once: re-sign only if nobody did meanwhile, since
                # APNs refuses tokens refreshed too often (TooManyProviderTokenUpdates).
                with self._jwt_lock:
                    if headers["authorization"] == f"bearer {self._jwt}":
                        self._jwt = ""
                refreshed = True
                continue
            return outcome

    @staticmethod
    def _interpret(response: httpx.Response) -> Outcome:
        if response.status_code == 200:
            return Outcome(
                Result.DELIVERED,
                provider_response=f"200 apns-id {response.headers.get('apns-id', '')}".strip(),
                details={"apns_id": response.headers.get("apns-id", "")},
            )
        try:
            reason = response.json().get("reason", "")
        except ValueError:
            reason = ""
        return http.refused(
            response,
            {"reason": reason, "status": response.status_code},
            dead=response.status_code == 410 or reason in DEAD_TOKEN_REASONS,
        )
