"""SMS and MMS through a Twilio-compatible Messages API.

POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP Basic
auth with the account SID and auth token. Reference: twilio.com/docs/messaging/api/message-resource
The `subscription_group_id` of the `sms` object picks the sender (a number or a
messaging service SID), as Braze's subscription groups own their sending numbers.

Message ID: Twilio's Messages API has no idempotency key (its I-Twilio-Idempotency-Token
is on the webhooks Twilio sends, not on requests to it), so a resend after a crash can
send the SMS twice. The delivery's message ID is in the StatusCallback URL, which is how
Twilio's answers are matched back to the delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from . import http
from .base import Outcome, Outgoing, Result

TWILIO_URL = "https://api.twilio.com"
# Error codes that mean the number can never receive: forget it on the profile.
DEAD_NUMBER_CODES = {21211, 21614, 21217}
# The recipient replied STOP: permanent for this sender, but the number itself is fine.
OPTED_OUT_CODES = {21610}


@dataclass
class TwilioConfig:
    account_sid: str
    auth_token: str
    senders: dict[str, str]  # subscription_group_id → "+15550001111" or "MG…" service SID
    base_url: str = ""
    status_callback: Callable[[str], str] | None = None  # message_id → callback URL
    retry: http.RetryPolicy = field(default_factory=http.RetryPolicy)
    concurrency: int = 20  # in flight at once


def build_form(to: str, sender: str, payload: dict[str, Any]) -> list[tuple[str, str]]:
    form = [("To", to), ("Body", payload.get("body", ""))]
    form.append(("MessagingServiceSid" if sender.startswith("MG") else "From", sender))
    for url in payload.get("media_items") or []:
        form.append(("MediaUrl", str(url)))  # any media makes it an MMS
    return form


class TwilioAdapter(http.HttpProviderAdapter):
    name = "twilio"
    timeout = 15.0

    def __init__(self, config: TwilioConfig, **shared: Any) -> None:
        super().__init__(config, **shared)
        self.base_url = (config.base_url or TWILIO_URL).rstrip("/")
        # Per request: the client is shared with every other provider and webhook.
        self._auth = httpx.BasicAuth(config.account_sid, config.auth_token)

    def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:
        group = item.payload.get("subscription_group_id", "")
        sender = self.config.senders.get(group) or self.config.senders.get("*", "")
        if not sender:
            return Outcome(
                Result.FAILED,
                provider_response=f"no sender configured for subscription group {group}",
            )
        form = build_form(item.address, sender, item.payload)
        if self.config.status_callback:
            form.append(("StatusCallback", self.config.status_callback(item.message_id)))
        url = f"{self.base_url}/2010-04-01/Accounts/{self.config.account_sid}/Messages.json"

        # NOTE: a list of pairs, because MediaUrl repeats; httpx's `data=` takes a dict only.
        content = urlencode(form).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}

        def send() -> httpx.Response:
            return self._client.post(
                url, content=content, headers=headers, auth=self._auth, timeout=self._timeout
            )

        return http.send_with_retry(send, self._interpret, self.config.retry, deadline)

    @staticmethod
    def _interpret(response: httpx.Response) -> Outcome:
        answer = http.json_or_empty(response)
        if response.status_code in (200, 201):
            # Accepted ("queued"); delivery is confirmed later by the status callback.
            return Outcome(
                Result.DELIVERED,
                provider_response=(
                    f"{response.status_code} {answer.get('sid', '')} {answer.get('status', '')}"
                ).strip(),
                details={"sid": answer.get("sid", ""), "status": answer.get("status", "")},
            )
        code = answer.get("code") if isinstance(answer, dict) else None
        details = {"status": response.status_code, "code": code}
        if code in OPTED_OUT_CODES:
            # Bounced for this sender, yet the number stays: it may opt back in (START).
            return Outcome(Result.BOUNCED, provider_response=http.short(response), details=details)
        return http.refused(response, details, dead=code in DEAD_NUMBER_CODES)
