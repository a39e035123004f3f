"""Shared plumbing of the HTTP provider adapters: one event loop, pooled clients, retries.

Adapters expose the synchronous `send_batch` the delivery code calls, but send a batch
concurrently on a process-wide asyncio loop running in a daemon thread. Keeping the loop
(and each adapter's `httpx.AsyncClient`) alive between batches is what lets connections
be reused — HTTP/2 streams multiplexed on one APNs connection, keep-alive pools elsewhere.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from .base import Outcome, Outgoing, Result

T = TypeVar("T")

# A provider answer worth retrying: throttled or the provider's own trouble.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        thread = threading.Thread(
            target=self.loop.run_forever, name="herald-providers", daemon=True
        )
        thread.start()


_loop_lock = threading.Lock()
_loop_thread: _LoopThread | None = None


def _loop() -> asyncio.AbstractEventLoop:
    global _loop_thread
    with _loop_lock:
        # TRICKY: a forked worker (Celery prefork) inherits the object but not the thread.
        if _loop_thread is None or _loop_thread.pid != os.getpid():
            _loop_thread = _LoopThread()
        return _loop_thread.loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the providers' loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coro, _loop()).result()


def on_loop(factory: Callable[[], T]) -> T:
    """Build an object (e.g. an AsyncClient) on the providers' loop thread."""

    async def build() -> T:
        return factory()

    return run(build())


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class RetryPolicy:
    attempts: int = 3  # tries inside one batch; then the task reschedules (Result.RETRY)
    backoff: float = 0.25  # seconds before the 2nd try, doubled each time, with jitter
    max_wait: float = 10.0  # a longer Retry-After is left to the task's own retry


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response], Outcome],
    policy: RetryPolicy,
) -> Outcome:
    """Call `send` until it gives a final answer; retry 429/5xx and network errors only.

    `interpret` turns a non-retryable response into an Outcome (delivered, bounced, failed).
    4xx answers other than 429 are final: retrying a refused request cannot help.
    """
    last: Outcome | None = None
    for attempt in range(1, policy.attempts + 1):
        wait = policy.backoff * (2 ** (attempt - 1)) * (0.75 + random.random() / 2)
        try:
            response = await send()
        except httpx.TimeoutException as exc:
            last = Outcome(Result.RETRY, provider_response=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            last = Outcome(Result.RETRY, provider_response=f"network error: {exc!r}"[:500])
        else:
            if response.status_code not in RETRYABLE_STATUSES:
                return interpret(response)
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            last = Outcome(
                Result.RETRY,
                provider_response=f"{response.status_code} {response.text[:300]}".strip(),
                retry_after=retry_after,
            )
            if retry_after is not None:
                if retry_after > policy.max_wait:
                    return last
                wait = retry_after
        if attempt < policy.attempts:
            await asyncio.sleep(wait)
    assert last is not None
    return last


async def gather_limited(
    items: list[Any], worker: Callable[[Any], Awaitable[Outcome]], concurrency: int
) -> list[Outcome]:
    """Run `worker` over items with at most `concurrency` in flight; results in order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Outcome:
        async with semaphore:
            try:
                return await worker(item)
            except Exception as exc:  # noqa: BLE001 — one bad item must not lose the batch
                return Outcome(Result.FAILED, provider_response=f"adapter error: {exc!r}"[:500])

    return await asyncio.gather(*(one(item) for item in items))


class HttpProviderAdapter:
    """What every HTTP provider adapter shares: a pooled client, concurrent batches, close().

    Subclasses set `name` and implement `_send_one`; `config` must carry `verify` and
    `concurrency`. The client is built on the providers' loop (see the module docstring)
    and kept for the adapter's life so connections are reused between batches.
    """

    name: str
    config: Any

    def __init__(
        self,
        config: Any,
        *,
        max_connections: int,
        max_keepalive: int | None = None,
        http2: bool = False,
        read_timeout: float = 10.0,
        **client_options: Any,
    ) -> None:
        self.config = config
        self._client = on_loop(
            lambda: httpx.AsyncClient(
                http2=http2,
                verify=config.verify,
                timeout=httpx.Timeout(read_timeout, connect=5.0),
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=(
                        max_connections if max_keepalive is None else max_keepalive
                    ),
                ),
                **client_options,
            )
        )

    def send_batch(
        self, items: list[Outgoing], deadline: float | None = None
    ) -> list[Outcome]:
        return run(gather_limited(items, self._send_one, self.config.concurrency))

    async def _send_one(self, item: Outgoing) -> Outcome:
        raise NotImplementedError

    def close(self) -> None:
        run(self._client.aclose())


def refused(response: httpx.Response, details: dict[str, Any], *, dead: bool) -> Outcome:
    """A provider's final refusal: BOUNCED, forgetting the address, when it says the address
    is dead (unregistered token, invalid number); otherwise FAILED, keeping the address."""
    if dead:
        return Outcome(
            Result.BOUNCED,
            provider_response=short(response),
            invalidate_address=True,
            details=details,
        )
    return Outcome(Result.FAILED, provider_response=short(response), details=details)


def json_or_empty(response: httpx.Response) -> Any:
    """The answer's JSON, or {} when the body is not JSON (e.g. a proxy's HTML error page)."""
    try:
        return response.json()
    except ValueError:
        return {}


def short(response: httpx.Response) -> str:
    """The provider's answer as stored on the delivery: status and the start of the body."""
    return f"{response.status_code} {response.text[:500]}".strip()
