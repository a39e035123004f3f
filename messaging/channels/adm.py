"""Kindle push through Amazon Device Messaging.

Auth: client credentials (Login with Amazon) exchanged for an access token, cached until
it expires. Reference: developer.amazon.com/docs/adm/send-message.html

Message ID: ADM has no idempotency key; the delivery's message ID travels in the data as
`herald_message_id` (the same on a resend), for the app to drop a duplicate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import http, oauth
from .base import Outcome, Outgoing, Result
from .payload import priority

ADM_URL = "https://api.amazon.com"
DEAD_REASONS = {"Unregistered", "InvalidRegistrationId"}
ADM_HEADERS = {
    "accept": "application/json",
    "x-amzn-type-version": "com.amazon.device.messaging.ADMMessage@1.0",
    "x-amzn-accept-type": "com.amazon.device.messaging.ADMSendResult@1.0",
}


@dataclass
class AdmConfig:
    client_id: str
    client_secret: str
    base_url: str = ""
    retry: http.RetryPolicy = field(default_factory=http.RetryPolicy)
    concurrency: int = 20  # in flight at once


MESSAGE_ID_KEY = "herald_message_id"


def build_message(payload: dict[str, Any], message_id: str = "") -> dict[str, Any]:
    """The ADM message for one Braze `kindle_push` object (data keys the Braze SDK reads;
    `message_id`: Herald's ID of this message)."""
    data: dict[str, Any] = dict(payload.get("extra") or {})
    if message_id:
        data[MESSAGE_ID_KEY] = message_id
    data["title"] = payload.get("title", "")
    data["alert"] = payload.get("alert", "")
    if payload.get("custom_uri"):
        data["uri"] = payload["custom_uri"]
    if payload.get("sound"):
        data["sd"] = payload["sound"]
    level = priority(payload)
    if level is not None:
        data["p"] = level if -2 <= level <= 2 else 0
    message: dict[str, Any] = {
        # ADM's data values must be strings.
        "data": {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()},
    }
    if payload.get("collapse_key"):
        message["consolidationKey"] = payload["collapse_key"]
    return message


class AdmAdapter(http.HttpProviderAdapter):
    name = "adm"

    def __init__(self, config: AdmConfig, **shared: Any) -> None:
        super().__init__(config, **shared)
        self.base_url = (config.base_url or ADM_URL).rstrip("/")
        self.token = oauth.OAuthTokenCache(self._fetch_token)

    def _fetch_token(self) -> tuple[str, float]:
        return oauth.token_request(
            self._client,
            f"{self.base_url}/auth/o2/token",
            {
                "grant_type": "client_credentials",
                "scope": "messaging:push",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
            },
        )

    def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:
        url = f"{self.base_url}/messaging/registrations/{item.address}/messages"
        body = build_message(item.payload, item.message_id)

        def send() -> httpx.Response:
            return self.token.post(
                self._client, url, json=body, headers=ADM_HEADERS, timeout=self._timeout
            )

        return self.token.send_with_retry(
            send,
            self._interpret,
            self.config.retry,
            token_refused=lambda outcome: outcome.details.get("reason") == "AccessTokenExpired",
            deadline=deadline,
        )

    @staticmethod
    def _interpret(response: httpx.Response) -> Outcome:
        answer = http.json_or_empty(response)
        if response.status_code == 200:
            # ADM may answer with a newer registration ID for the same device.
            return Outcome(
                Result.DELIVERED,
                provider_response=http.short(response),
                details={"registration_id": answer.get("registrationID", "")},
            )
        reason = answer.get("reason", "") if isinstance(answer, dict) else ""
        return http.refused(
            response,
            {"status": response.status_code, "reason": reason},
            dead=response.status_code == 410 or reason in DEAD_REASONS,
        )
