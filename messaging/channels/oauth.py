"""OAuth 2 bearer tokens for the provider adapters that need one (FCM, ADM).

Both exchange credentials at a token endpoint for a short-lived access token, send it
with every request and must fetch a new one when the provider refuses the cached one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from . import http
from .base import Outcome, past


class OAuthTokenCache:
    """An OAuth 2 access token cached until shortly before it expires; refreshed by one caller.

    Holds the token, attaches it to requests and fetches a new one when the provider says
    the cached one is no longer good.
    """

    def __init__(self, fetch: Callable[[], tuple[str, float]], margin: float = 60.0):
        self._fetch = fetch  # returns (token, lifetime in seconds)
        self._margin = margin
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()  # one fetch at a time: the batch's other threads wait
        self.fetches = 0

    def invalidate(self) -> None:
        self._expires = 0.0

    def get(self) -> str:
        with self._lock:
            if not self._token or time.monotonic() >= self._expires - self._margin:
                token, lifetime = self._fetch()
                self.fetches += 1
                self._token, self._expires = token, time.monotonic() + lifetime
            return self._token

    def post(
        self,
        client: httpx.Client,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST with the current token as `Bearer`.

        A refusal from the token endpoint itself is returned as the answer, so that its 4xx
        (a bad key or secret) is final and its 5xx retried like any other response.
        """
        try:
            token = self.get()
        except httpx.HTTPStatusError as exc:
            return exc.response
        return client.post(
            url, headers={**(headers or {}), "authorization": f"Bearer {token}"}, **kwargs
        )

    def send_with_retry(
        self,
        send: Callable[[], httpx.Response],
        interpret: Callable[[httpx.Response], Outcome],
        policy: http.RetryPolicy,
        *,
        token_refused: Callable[[Outcome], bool],
        deadline: float | None = None,
    ) -> Outcome:
        """`send_with_retry`, once more with a fresh token if the provider refused ours.

        A cached token can be revoked or expire early on the provider's side; only the
        provider's answer (`token_refused`) tells, so fetch a new one and try once more.
        """
        token = self._token
        outcome = http.send_with_retry(send, interpret, policy, deadline)
        if token_refused(outcome) and not past(deadline):
            # Many threads may be refused at once: only the first forgets the token.
            with self._lock:
                if self._token == token:
                    self.invalidate()
            outcome = http.send_with_retry(send, interpret, policy, deadline)
        return outcome


def token_request(client: httpx.Client, url: str, form: dict[str, str]) -> tuple[str, float]:
    """An OAuth 2 token request (RFC 6749 §4.4 / RFC 7523): (access token, lifetime in s)."""
    response = client.post(url, data=form)
    response.raise_for_status()
    body = response.json()
    return body["access_token"], float(body.get("expires_in", 3600))
