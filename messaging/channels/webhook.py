"""Webhooks over the shared HTTP client (spec §4.7), behind an SSRF guard.

The URL comes from an API caller, so `ssrf.check_target` resolves the host and refuses
any private, loopback, link-local, multicast or reserved address unless an operator
allowed its network in WEBHOOK_ALLOWED_NETWORKS. Redirects are not followed (a public
URL could otherwise bounce us inside). 2xx is delivered; 5xx, 429 and network errors
are retried; any other 4xx is a final failure.

A batch goes out concurrently on the process's sender threads (messaging.channels.http): at most
`concurrency` requests at once, and at most `per_host` at once per receiving host, so one
slow receiver delays only its own messages and no receiver gets more than its share.

Message ID: every request carries `X-Herald-Message-Id: <message_id>`, the same on a
resend, so a receiver can drop a duplicate; a request header of that name set in the
message object is replaced by it.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from . import http
from .base import Outcome, Outgoing, Result
from .ssrf import TargetRefused, check_target, pinned_request

RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
MAX_ANSWER_CHARS = 2000
MESSAGE_ID_HEADER = "X-Herald-Message-Id"
USER_AGENT = "Herald-Webhook/1.0"


# The guard is shared with web push; these names stay importable from here.
WebhookRefused = TargetRefused
__all__ = ["WebhookAdapter", "WebhookRefused", "check_target", "pinned_request"]


def _content_type(body: str) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def _host(item: Outgoing) -> str:
    """The receiving host of an item (its per-host slot); "" for an unusable URL."""
    try:
        return urlsplit(str(item.payload.get("url", ""))).netloc.rsplit("@", 1)[-1].lower()
    except ValueError:
        return ""


def _retry_after(value: str) -> float | None:
    return float(value) if value.isdigit() else None


class WebhookAdapter:
    """`client`: the process's shared httpx.Client (messaging.channels.http.build_client).
    `timeout`: seconds per request (each read/write; connecting takes at most 5)."""

    name = "webhook"

    def __init__(
        self,
        client: httpx.Client,
        *,
        timeout: float = 10.0,
        concurrency: int = 32,
        per_host: int = 8,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.concurrency = concurrency
        self._timeout = http.request_timeout(timeout)
        self._per_host = http.KeyedLimit(per_host)

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        return http.run_batch(
            items,
            self._send,
            concurrency=self.concurrency,
            deadline=deadline,
            cap=self.timeout + 5.0,
            key=_host,
            per_key=self._per_host,
        )

    def _send(self, item: Outgoing) -> Outcome:
        payload = item.payload
        url = str(payload.get("url", ""))
        try:
            address = check_target(url)
        except TargetRefused as exc:
            return Outcome(Result.FAILED, str(exc))
        pinned_url, host_header, extensions = pinned_request(url, address)
        body = payload.get("body")
        headers = {
            "User-Agent": USER_AGENT,
            **{
                k: v
                for k, v in (payload.get("request_headers") or {}).items()
                if k.lower() not in ("host", MESSAGE_ID_HEADER.lower())
            },
            **host_header,
            MESSAGE_ID_HEADER: item.message_id,
        }
        if body and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = _content_type(body)
        try:
            response = self.client.request(
                payload.get("request_method", "POST"),
                pinned_url,
                content=body.encode() if body else None,
                headers=headers,
                extensions=extensions,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            return Outcome(Result.RETRY, f"timeout: {exc.__class__.__name__} {exc}".strip())
        except httpx.InvalidURL as exc:
            return Outcome(Result.FAILED, f"invalid URL: {exc}")
        except httpx.TransportError as exc:
            return Outcome(Result.RETRY, f"network: {exc.__class__.__name__}: {exc}")
        except (ValueError, TypeError) as exc:  # e.g. a header value httpx cannot encode
            return Outcome(Result.FAILED, f"invalid request: {exc}"[:500])
        answer = f"HTTP {response.status_code}: {response.text[:MAX_ANSWER_CHARS]}"
        if response.is_success:
            return Outcome(Result.DELIVERED, answer)
        if response.status_code in RETRYABLE:
            return Outcome(
                Result.RETRY,
                answer,
                retry_after=_retry_after(response.headers.get("Retry-After", "")),
            )
        return Outcome(Result.FAILED, answer)

    def close(self) -> None:
        """Nothing to close: the client belongs to the caller."""
