"""Android push through Firebase Cloud Messaging, HTTP v1 API.

Auth: a service account's key signs a JWT assertion exchanged at its `token_uri` for an
OAuth 2 access token (RFC 7523), cached until shortly before it expires.
Reference: firebase.google.com/docs/reference/fcm/rest/v1/projects.messages

Message ID: FCM v1 has no idempotency key, so the delivery's message ID travels in the
message's data as `herald_message_id` (the same on a resend): the app can drop a
notification whose ID it has already shown.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from . import http, oauth
from .base import Outcome, Outgoing, Result
from .payload import copy_fields, priority

FCM_URL = "https://fcm.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# Braze's priority −2…2 → FCM's notification priorities.
NOTIFICATION_PRIORITY = {
    -2: "PRIORITY_MIN",
    -1: "PRIORITY_LOW",
    0: "PRIORITY_DEFAULT",
    1: "PRIORITY_HIGH",
    2: "PRIORITY_MAX",
}


@dataclass
class FcmConfig:
    service_account: dict[str, Any]  # the downloaded JSON key file, parsed
    base_url: str = ""
    retry: http.RetryPolicy = field(default_factory=http.RetryPolicy)
    concurrency: int = 32

    @property
    def project_id(self) -> str:
        return self.service_account.get("project_id", "")


def _data(values: dict[str, Any]) -> dict[str, str]:
    # FCM's data map takes strings only; structured extras travel as JSON.
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
        for k, v in values.items()
        if v is not None
    }


MESSAGE_ID_KEY = "herald_message_id"


def build_message(token: str, payload: dict[str, Any], message_id: str = "") -> dict[str, Any]:
    """The FCM v1 `message` for one Braze `android_push` object (`message_id`: Herald's
    ID of this message, carried in the data)."""
    extra = dict(payload.get("extra") or {})
    data = dict(extra)
    if message_id:
        data[MESSAGE_ID_KEY] = message_id
    copy_fields(
        payload,
        data,
        (
            ("custom_uri", "uri"),
            ("use_webview", "ab_use_webview"),
            ("summary_text", "summary_text"),
            ("push_icon_image_url", "ab_iu"),
            ("buttons", "ab_ab"),
            ("conversation_data", "ab_cd"),
            ("notification_id", "ab_nid"),
        ),
    )
    android: dict[str, Any] = {}
    if payload.get("android_priority") in ("normal", "high"):
        android["priority"] = payload["android_priority"].upper()
    if payload.get("time_to_live") is not None:
        android["ttl"] = f"{int(payload['time_to_live'])}s"
    if payload.get("collapse_key"):
        android["collapse_key"] = payload["collapse_key"]

    message: dict[str, Any] = {"token": token}
    if not payload.get("send_to_sync"):
        # A visible notification; send_to_sync pushes carry data only (silent, app wakes).
        message["notification"] = {
            "title": payload.get("title", ""),
            "body": payload.get("alert", ""),
        }
        if extra.get("appboy_image_url"):
            message["notification"]["image"] = extra["appboy_image_url"]
        notification: dict[str, Any] = {}
        if payload.get("notification_channel_id"):
            notification["channel_id"] = payload["notification_channel_id"]
        if payload.get("sound"):
            notification["sound"] = payload["sound"]
        level = priority(payload)
        if level is not None:
            notification["notification_priority"] = NOTIFICATION_PRIORITY.get(
                level, "PRIORITY_DEFAULT"
            )
        if isinstance(payload.get("accent_color"), int):
            notification["color"] = f"#{payload['accent_color'] & 0xFFFFFF:06x}"
        if payload.get("notification_id") is not None:
            notification["tag"] = str(payload["notification_id"])
        if notification:
            android["notification"] = notification
    if data:
        message["data"] = _data(data)
    if android:
        message["android"] = android
    return message


class FcmAdapter(http.HttpProviderAdapter):
    name = "fcm"

    def __init__(self, config: FcmConfig, **shared: Any) -> None:
        super().__init__(config, **shared)
        self.base_url = (config.base_url or FCM_URL).rstrip("/")
        self.token = oauth.OAuthTokenCache(self._fetch_token)

    def _fetch_token(self) -> tuple[str, float]:
        account = self.config.service_account
        token_uri = account.get("token_uri", "https://oauth2.googleapis.com/token")
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": account["client_email"],
                "scope": SCOPE,
                "aud": token_uri,
                "iat": now,
                "exp": now + 3600,
            },
            account["private_key"],
            algorithm="RS256",
            headers={"kid": account.get("private_key_id", "")},
        )
        return oauth.token_request(
            self._client,
            token_uri,
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )

    def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:
        url = f"{self.base_url}/v1/projects/{self.config.project_id}/messages:send"
        body = {"message": build_message(item.address, item.payload, item.message_id)}

        def send() -> httpx.Response:
            return self.token.post(self._client, url, json=body, timeout=self._timeout)

        # FCM answers 401 to a revoked or early-expired access token.
        return self.token.send_with_retry(
            send,
            self._interpret,
            self.config.retry,
            token_refused=lambda outcome: outcome.details.get("status") == 401,
            deadline=deadline,
        )

    @staticmethod
    def _interpret(response: httpx.Response) -> Outcome:
        if response.status_code == 200:
            name = ""
            try:
                name = response.json().get("name", "")
            except ValueError:
                pass
            return Outcome(
                Result.DELIVERED, provider_response=f"200 {name}".strip(), details={"name": name}
            )
        error_code = ""
        try:
            error = response.json().get("error", {})
            for detail in error.get("details", []):
                error_code = detail.get("errorCode", error_code)
            error_code = error_code or error.get("status", "")
        except (ValueError, AttributeError):
            pass
        return http.refused(
            response,
            {"status": response.status_code, "error_code": error_code},
            dead=error_code == "UNREGISTERED",
        )
