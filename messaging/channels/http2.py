"""HTTP/2 for the adapters that need it (APNs): one asyncio loop, one AsyncClient.

httpcore's sync HTTP/2 connection is not safe to share between threads (stream IDs, HPACK
state and frame writes interleave: encode/httpx#3072), so the threaded plumbing of
messaging.channels.http speaks HTTP/1.1 only. APNs accepts HTTP/2 only; its requests go
through ONE `httpx.AsyncClient` per process (`build_client`, built by the registry) on a
process-wide loop in a daemon thread, where one connection multiplexes a whole batch as
concurrent streams. `run_batch` bounds a batch as its threaded twin does (concurrency,
rate slots, the deadline).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpx

from .base import Outcome, Result, not_started, past
from .http import (
    DEFAULT_TIMEOUT,
    NO_RATE_SLOT,
    RetryPolicy,
    settle,
)
from .limits import RateLimiter

T = TypeVar("T")


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        thread = threading.Thread(target=self.loop.run_forever, name="herald-http2", daemon=True)
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
    """Run a coroutine on the HTTP/2 loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coro, _loop()).result()


def build_client(
    *, verify: ssl.SSLContext | bool | str = True, max_connections: int = 16
) -> httpx.AsyncClient:
    """The process's HTTP/2 client, built on the loop that will drive it."""

    async def build() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            http1=False,
            http2=True,
            verify=verify,
            follow_redirects=False,
            timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=5.0),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    return run(build())


def close_client(client: httpx.AsyncClient) -> None:
    run(client.aclose())


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response], Outcome],
    policy: RetryPolicy,
    deadline: float | None = None,
) -> Outcome:
    """messaging.channels.http.send_with_retry, on the loop."""
    last: Outcome | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            answer: httpx.Response | httpx.TransportError = await send()
        except httpx.TransportError as exc:  # timeouts included
            answer = exc
        last, final, wait = settle(answer, interpret, policy, attempt)
        if final:
            return last
        if attempt < policy.attempts:
            if deadline is not None and time.monotonic() + wait >= deadline:
                return last
            await asyncio.sleep(wait)
    assert last is not None
    return last


async def _rate_slot(limiter: RateLimiter | None, deadline: float | None) -> bool:
    if limiter is None:
        return True
    # The booking may be a Redis round trip: off the loop, which serves the whole batch.
    wait = await asyncio.to_thread(limiter.reserve, deadline)
    if wait is None:
        return False
    if wait > 0:
        await asyncio.sleep(wait)
    return True


async def run_batch(
    items: list[Any],
    worker: Callable[[Any], Awaitable[Outcome]],
    *,
    concurrency: int,
    deadline: float | None = None,
    cap: float = DEFAULT_TIMEOUT,
    limiter: RateLimiter | None = None,
) -> list[Outcome]:
    """Run `worker` over `items` on the loop, at most `concurrency` at once, results in
    order; the deadline and `cap` as in messaging.channels.http.run_batch."""
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(item: Any) -> Outcome:
        async with semaphore:
            if past(deadline):
                return not_started()
            if not await _rate_slot(limiter, deadline):
                return not_started(NO_RATE_SLOT)
            try:
                if deadline is None:
                    return await worker(item)
                # loop.time() is time.monotonic(): the deadline's own clock.
                async with asyncio.timeout_at(deadline + cap):
                    return await worker(item)
            except TimeoutError:
                return Outcome(
                    Result.RETRY,
                    provider_response=f"cut: unanswered {cap:g}s after the time limit",
                )
            except Exception as exc:  # noqa: BLE001 — one bad item must not lose the batch
                return Outcome(Result.FAILED, provider_response=f"adapter error: {exc!r}"[:500])

    return list(await asyncio.gather(*(one(item) for item in items)))
