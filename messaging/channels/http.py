"""Shared plumbing of the HTTP adapters (webhooks and providers): one loop, one client.

Adapters expose the synchronous `send_batch` the delivery code calls, but send a batch
concurrently on a process-wide asyncio loop running in a daemon thread, through ONE
`httpx.AsyncClient` per process (`build_client`, called by messaging.delivery.registry,
which hands it to every adapter). Keeping the loop and the client alive between batches
is what lets connections be reused — HTTP/2 streams multiplexed on one APNs connection,
keep-alive pools elsewhere.

`run_batch` bounds a batch: at most `concurrency` items in flight, optionally at most
`per_key` per receiver host, a rate limiter's slot per message, and the batch's deadline
(see messaging.channels.base): an item not started by then is `not_started`; one in
flight runs on to its own timeout at most (`cap`) and is then cut, RETRY.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from .base import Outcome, Outgoing, Result, not_started, past
from .limits import RateLimiter

T = TypeVar("T")

# A provider answer worth retrying: throttled or the provider's own trouble.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # For blocking calls made off the loop (getaddrinfo of the SSRF guard, a Redis
        # rate limiter's booking): enough threads for a batch's concurrency.
        self.loop.set_default_executor(
            ThreadPoolExecutor(max_workers=32, thread_name_prefix="herald-providers-io")
        )
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


# When an adapter is given no timeout: per request, connect 5 s, each read/write 10 s.
DEFAULT_TIMEOUT = 10.0


def build_client(
    *, verify: ssl.SSLContext | bool | str = True, max_connections: int = 100
) -> httpx.AsyncClient:
    """The process's one HTTP client, built on the providers' loop: HTTP/2 where the
    server offers it (APNs, FCM, push services), keep-alive HTTP/1.1 elsewhere; redirects
    never followed (a public URL could bounce us inside). Per-request timeouts are the
    adapters'; `max_connections` bounds the pool across every host."""
    return on_loop(
        lambda: httpx.AsyncClient(
            http2=True,
            verify=verify,
            follow_redirects=False,
            timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=5.0),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
    )


def close_client(client: httpx.AsyncClient) -> None:
    run(client.aclose())


def request_timeout(seconds: float) -> httpx.Timeout:
    """An adapter's own timeout for one request: `seconds` per read/write, 5 s to connect."""
    return httpx.Timeout(seconds, connect=min(5.0, seconds))


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response], Outcome],
    policy: RetryPolicy,
    deadline: float | None = None,
) -> Outcome:
    """Call `send` until it gives a final answer; retry 429/5xx and network errors only.

    `interpret` turns a non-retryable response into an Outcome (delivered, bounced, failed).
    4xx answers other than 429 are final: retrying a refused request cannot help. No new
    try starts once `deadline` has passed (nor a wait that would end past it): the last
    answer is returned, RETRY, for the task to retry later.
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
            if deadline is not None and time.monotonic() + wait >= deadline:
                return last
            await asyncio.sleep(wait)
    assert last is not None
    return last


class KeyedLimit:
    """At most `limit` holders at once per key (e.g. per receiver host), across every batch
    sent on the providers' loop. Lives on that loop only (no locking); a key's semaphore
    is dropped when its last holder leaves, so hosts seen once do not pile up."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: dict[Hashable, list[Any]] = {}  # key → [Semaphore, holders + waiters]

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        entry = self._slots.get(key)
        if entry is None:
            entry = self._slots[key] = [asyncio.Semaphore(self.limit), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._slots[key]

    def __len__(self) -> int:
        return len(self._slots)


async def rate_slot(limiter: RateLimiter | None, deadline: float | None) -> bool:
    """Wait for the limiter's next slot (False: none before the deadline, nothing booked).

    The booking may be a Redis round trip: made off the loop, which serves the batch."""
    if limiter is None:
        return True
    wait = await asyncio.to_thread(limiter.reserve, deadline)
    if wait is None:
        return False
    if wait > 0:
        await asyncio.sleep(wait)
    return True


NO_RATE_SLOT = "not sent: the provider's rate limit left no slot before the batch's time limit"


async def run_batch(
    items: list[Any],
    worker: Callable[[Any], Awaitable[Outcome]],
    *,
    concurrency: int,
    deadline: float | None = None,
    cap: float = DEFAULT_TIMEOUT,
    limiter: RateLimiter | None = None,
    key: Callable[[Any], Hashable] | None = None,
    per_key: KeyedLimit | None = None,
) -> list[Outcome]:
    """Run `worker` over `items`, results in order, bounded as the module docstring says.

    The per-key slot is taken before the batch-wide one, so items queued behind a slow
    host hold none of the slots the other hosts' items need. `cap`: seconds an item
    already started may run past the deadline (its own request timeout).
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(item: Any) -> Outcome:
        async with contextlib.AsyncExitStack() as stack:
            if per_key is not None and key is not None:
                await stack.enter_async_context(per_key.hold(key(item)))
            await stack.enter_async_context(semaphore)
            if past(deadline):
                return not_started()
            if not await rate_slot(limiter, deadline):
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
                    provider_response=f"cut: unanswered {cap:g}s after the batch's time limit",
                )
            except Exception as exc:  # noqa: BLE001 — one bad item must not lose the batch
                return Outcome(Result.FAILED, provider_response=f"adapter error: {exc!r}"[:500])
        raise AssertionError("unreachable")  # for type checkers: the stack never swallows

    return await asyncio.gather(*(one(item) for item in items))


class HttpProviderAdapter:
    """What every HTTP provider adapter shares: the caller's client, bounded batches.

    Subclasses set `name` (and `timeout`, seconds per request) and implement
    `_send_one(item, deadline)`; `config` must carry `concurrency` and `retry`. The client
    is the process's shared one (`build_client`): the adapter never closes it. `limiter`:
    this provider account's or app's rate limit, None for none.
    """

    name: str
    config: Any
    timeout: float = DEFAULT_TIMEOUT

    def __init__(
        self,
        config: Any,
        *,
        client: httpx.AsyncClient,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self._client = client
        self.limiter = limiter
        self._timeout = request_timeout(self.timeout)

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        async def worker(item: Outgoing) -> Outcome:
            return await self._send_one(item, deadline)

        return run(
            run_batch(
                items,
                worker,
                concurrency=self.config.concurrency,
                deadline=deadline,
                cap=self.timeout + 5.0,
                limiter=self.limiter,
                **self._per_host_limit(),
            )
        )

    def _per_host_limit(self) -> dict[str, Any]:
        """`key` and `per_key` for `run_batch` when receivers are many hosts (web push)."""
        return {}

    async def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to close: the client belongs to the caller (messaging.delivery.registry)."""


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
