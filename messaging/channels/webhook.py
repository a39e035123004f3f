"""Webhooks over httpx (spec §4.7), behind an SSRF guard.

The URL comes from an API caller, so `ssrf.check_target` resolves the host and refuses
any private, loopback, link-local, multicast or reserved address unless an operator
allowed its network in WEBHOOK_ALLOWED_NETWORKS. Redirects are not followed (a public
URL could otherwise bounce us inside). 2xx is delivered; 5xx, 429 and network errors
are retried; any other 4xx is a final failure.
"""

from __future__ import annotations

import json

import httpx
from django.conf import settings

from .base import Outcome, Outgoing, Result
from .ssrf import TargetRefused, check_target, pinned_request

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
MAX_ANSWER_CHARS = 2000


# The guard is shared with web push; these names stay importable from here.
WebhookRefused = TargetRefused
__all__ = ["WebhookAdapter", "WebhookRefused", "check_target", "pinned_request"]


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


class WebhookAdapter:
    name = "webhook"

    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client

    def _send(self, client: httpx.Client, item: Outgoing) -> Outcome:
        payload = item.payload
        url = str(payload.get("url", ""))
        try:
            address = check_target(url)
        except TargetRefused as exc:
            return Outcome(Result.FAILED, str(exc))
        pinned_url, host_header, extensions = pinned_request(url, address)
        body = payload.get("body")
        headers = {
            **{
                k: v
                for k, v in (payload.get("request_headers") or {}).items()
                if k.lower() != "host"
            },
            **host_header,
        }
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = _content_type(body)
        headers.setdefault("X-Herald-Message-Id", item.message_id)
        try:
            response = client.request(
                payload.get("request_method", "POST"),
                pinned_url,
                content=body.encode() if body else None,
                headers=headers,
                extensions=extensions,
            )
        except httpx.TimeoutException as exc:
            return Outcome(Result.RETRY, f"timeout: {exc}")
        except httpx.InvalidURL as exc:
            return Outcome(Result.FAILED, f"invalid URL: {exc}")
        except httpx.TransportError as exc:
            return Outcome(Result.RETRY, f"network: {exc.__class__.__name__}: {exc}")
        answer = f"HTTP {response.status_code}: {response.text[:MAX_ANSWER_CHARS]}"
        if response.is_success:
            return Outcome(Result.DELIVERED, answer)
        if response.status_code in RETRYABLE:
            retry_after = response.headers.get("Retry-After", "")
            return Outcome(
                Result.RETRY,
                answer,
                retry_after=float(retry_after) if retry_after.isdigit() else None,
            )
        return Outcome(Result.FAILED, answer)

    def send_batch(
        self, items: list[Outgoing], deadline: float | None = None
    ) -> list[Outcome]:
        if self.client is not None:
            return [self._send(self.client, item) for item in items]
        with httpx.Client(
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"User-Agent": "Herald-Webhook/1.0"},
        ) as client:
            return [self._send(client, item) for item in items]
