"""Kindle push through Amazon Device Messaging.

Auth: client credentials (Login with Amazon) exchanged for an access token, cached until
it expires. Reference: developer.amazon.com/docs/adm/send-message.html
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import http
from .base import Outcome, Outgoing, Result

ADM_URL = "https://api.amazon.com"
DEAD_REASONS = {"Unregistered", "InvalidRegistrationId"}


@dataclass
class AdmConfig:
    client_id: str
    client_secret: str
    base_url: str = ""
    verify: ssl.SSLContext | bool | str = True
    retry: http.RetryPolicy = field(default_factory=http.RetryPolicy)
    # In flight at once; more only adds client CPU (httpcore's pool scans its queue).
    concurrency: int = 20


def build_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The ADM message for one Braze `kindle_push` object (data keys the Braze SDK reads)."""
    data: dict[str, Any] = dict(payload.get("extra") or {})
    data["title"] = payload.get("title", "")
    data["alert"] = payload.get("alert", "")
    if payload.get("custom_uri"):
        data["uri"] = payload["custom_uri"]
    if payload.get("sound"):
        data["sd"] = payload["sound"]
    priority = payload.get("priority")
    if isinstance(priority, int) and not isinstance(priority, bool):
        data["p"] = priority if -2 <= priority <= 2 else 0
    message: dict[str, Any] = {
        # ADM's data values must be strings.
        "data": {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()},
    }
    if payload.get("collapse_key"):
        message["consolidationKey"] = payload["collapse_key"]
    return message


class AdmAdapter:
    name = "adm"

    def __init__(self, config: AdmConfig) -> None:
        self.config = config
        self.base_url = (config.base_url or ADM_URL).rstrip("/")
        self.token = http.CachedToken(self._fetch_token)
        self._client = http.on_loop(
            lambda: httpx.AsyncClient(
                verify=config.verify,
                timeout=httpx.Timeout(10.0, connect=5.0),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
            )
        )

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self._client.post(
            f"{self.base_url}/auth/o2/token",
            data={
                "grant_type": "client_credentials",
                "scope": "messaging:push",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
            },
        )
        response.raise_for_status()
        body = response.json()
        return body["access_token"], float(body.get("expires_in", 3600))

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]:
        return http.run(http.gather_limited(items, self._send_one, self.config.concurrency))

    async def _send_one(self, item: Outgoing) -> Outcome:
        url = f"{self.base_url}/messaging/registrations/{item.address}/messages"
        body = build_message(item.payload)

        async def send() -> httpx.Response:
            try:
                token = await self.token.get()
            except httpx.HTTPStatusError as exc:
                return exc.response
            return await self._client.post(
                url,
                json=body,
                headers={
                    "authorization": f"Bearer {token}",
                    "accept": "application/json",
                    "x-amzn-type-version": "com.amazon.device.messaging.ADMMessage@1.0",
                    "x-amzn-accept-type": "com.amazon.device.messaging.ADMSendResult@1.0",
                },
            )

        outcome = await http.send_with_retry(send, self._interpret, self.config.retry)
        if outcome.details.get("reason") == "AccessTokenExpired":
            self.token.invalidate()
            outcome = await http.send_with_retry(send, self._interpret, self.config.retry)
        return outcome

    @staticmethod
    def _interpret(response: httpx.Response) -> Outcome:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200:
            # ADM may answer with a newer registration ID for the same device.
            return Outcome(
                Result.DELIVERED,
                provider_response=http.short(response),
                details={"registration_id": answer.get("registrationID", "")},
            )
        reason = answer.get("reason", "") if isinstance(answer, dict) else ""
        details = {"status": response.status_code, "reason": reason}
        if response.status_code == 410 or reason in DEAD_REASONS:
            return Outcome(
                Result.BOUNCED,
                provider_response=http.short(response),
                invalidate_address=True,
                details=details,
            )
        return Outcome(Result.FAILED, provider_response=http.short(response), details=details)

    def close(self) -> None:
        http.run(self._client.aclose())
