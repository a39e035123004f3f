"""Shared plumbing of the HTTP adapters (webhooks and providers): one client, threads.

ONE `httpx.Client` per process (`build_client`, called by messaging.delivery.registry,
which hands it to every adapter) carries every webhook and provider request but APNs's:
kept for the process's life, so connections are pooled and kept alive between batches.
It speaks HTTP/1.1 only: httpcore's sync HTTP/2 is not thread-safe (see
messaging.channels.http2, which carries APNs, HTTP/2 only, on an asyncio loop).

A batch is sent by `run_batch` on a process-wide pool of threads: at most `concurrency`
items in flight, at most `per_key` at once per receiving host (a scheduler hands a thread
only to an item whose host has a free slot, so items queued behind a slow host hold no
threads), a rate limiter's slot per message, and the batch's deadline (see
messaging.channels.base): an item not started by then is `not_started`; one in flight
runs on to its own timeout, and is reported cut (RETRY) if still unanswered `cap`
seconds after the deadline.

Threads rather than asyncio: on this machine httpx's async client costs about twice the
CPU per request of its sync client (0.75 vs 0.33 ms), and a batch against fast receivers
is CPU-bound.
"""

from __future__ import annotations

import email.utils
import os
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from .base import Outcome, Outgoing, Result, not_started, past
from .limits import RateLimiter

# A provider answer worth retrying: throttled or the provider's own trouble.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Threads sending HTTP in this process, shared by every batch (each bounds its own).
MAX_THREADS = 128

_threads_lock = threading.Lock()
_threads: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    global _threads
    with _threads_lock:
        # TRICKY: a forked worker (Celery prefork) inherits the executor but not its threads.
        if _threads is None or _threads[0] != os.getpid():
            _threads = (
                os.getpid(),
                ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="herald-http"),
            )
        return _threads[1]


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
) -> httpx.Client:
    """The process's one HTTP/1.1 client: keep-alive, redirects never followed (a public
    URL could bounce us inside). Per-request timeouts are the adapters'; `max_connections`
    bounds the pool across every host. Thread-safe: every sender thread uses it."""
    return httpx.Client(
        verify=verify,
        follow_redirects=False,
        timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=5.0),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
    )


def close_client(client: httpx.Client) -> None:
    client.close()


def request_timeout(seconds: float) -> httpx.Timeout:
    """An adapter's own timeout for one request: `seconds` per read/write, 5 s to connect."""
    return httpx.Timeout(seconds, connect=min(5.0, seconds))


def send_with_retry(
    send: Callable[[], httpx.Response],
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
        try:
            answer: httpx.Response | httpx.TransportError = send()
        except httpx.TransportError as exc:  # timeouts included
            answer = exc
        last, final, wait = settle(answer, interpret, policy, attempt)
        if final:
            return last
        if attempt < policy.attempts:
            if deadline is not None and time.monotonic() + wait >= deadline:
                return last
            time.sleep(wait)
    assert last is not None
    return last


def settle(
    answer: httpx.Response | httpx.TransportError,
    interpret: Callable[[httpx.Response], Outcome],
    policy: RetryPolicy,
    attempt: int,
) -> tuple[Outcome, bool, float]:
    """One try's answer as (outcome, final?, seconds to wait before the next try).

    The one place that decides what is retried and how long to wait, for the threaded
    send_with_retry here and the asyncio one of messaging.channels.http2.
    """
    wait = policy.backoff * (2 ** (attempt - 1)) * (0.75 + random.random() / 2)
    if isinstance(answer, httpx.TimeoutException):
        return Outcome(Result.RETRY, provider_response=f"timeout: {type(answer).__name__}"), \
            False, wait
    if isinstance(answer, httpx.TransportError):
        return Outcome(Result.RETRY, provider_response=f"network error: {answer!r}"[:500]), \
            False, wait
    if answer.status_code not in RETRYABLE_STATUSES:
        return interpret(answer), True, wait
    retry_after = parse_retry_after(answer.headers.get("retry-after"))
    outcome = Outcome(
        Result.RETRY,
        provider_response=f"{answer.status_code} {answer.text[:300]}".strip(),
        retry_after=retry_after,
    )
    if retry_after is not None:
        if retry_after > policy.max_wait:
            return outcome, True, wait
        wait = retry_after
    return outcome, False, wait


class KeyedLimit:
    """At most `limit` holders at once per key (e.g. per receiving host), across every
    batch of the process. A key's count is dropped when it falls to zero, so hosts seen
    once do not pile up."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._lock = threading.Lock()
        self._held: dict[Hashable, int] = {}

    def try_acquire(self, key: Hashable) -> bool:
        with self._lock:
            held = self._held.get(key, 0)
            if held >= self.limit:
                return False
            self._held[key] = held + 1
            return True

    def release(self, key: Hashable) -> None:
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)

    def held(self, key: Hashable) -> int:
        with self._lock:
            return self._held.get(key, 0)


NO_RATE_SLOT = "not sent: the provider's rate limit left no slot before the batch's time limit"
# How often a batch looks again for a free per-host slot that another batch holds.
_POLL = 0.02


def run_batch(
    items: list[Any],
    worker: Callable[[Any], Outcome],
    *,
    concurrency: int,
    deadline: float | None = None,
    cap: float = DEFAULT_TIMEOUT,
    limiter: RateLimiter | None = None,
    key: Callable[[Any], Hashable] | None = None,
    per_key: KeyedLimit | None = None,
) -> list[Outcome]:
    """Run `worker` over `items` on the process's threads, results in order, bounded as
    the module docstring says. `cap`: seconds past the deadline after which an item still
    running is reported cut (its own request timeout; the thread finishes on its own)."""
    results: list[Outcome | None] = [None] * len(items)
    pending: dict[Hashable, deque[int]] = {}
    for index, item in enumerate(items):
        pending.setdefault(key(item) if key is not None else None, deque()).append(index)
    if per_key is None or key is None:
        per_key = KeyedLimit(len(items) or 1)  # no per-host limit: a batch-local stand-in
    done = threading.Condition()
    running = 0

    def attempt(index: int) -> Outcome:
        if past(deadline):
            return not_started()
        if limiter is not None and not limiter.acquire(deadline):
            return not_started(NO_RATE_SLOT)
        try:
            return worker(items[index])
        except Exception as exc:  # noqa: BLE001 — one bad item must not lose the batch
            return Outcome(Result.FAILED, provider_response=f"adapter error: {exc!r}"[:500])

    def job(index: int, slot: Hashable) -> None:
        nonlocal running
        try:
            outcome = attempt(index)
        finally:
            per_key.release(slot)
        with done:
            results[index] = outcome
            running -= 1
            done.notify()

    pool = _pool()
    with done:
        while pending:
            if past(deadline):
                for indices in pending.values():
                    for index in indices:
                        results[index] = not_started()
                pending.clear()
                break
            waiting_on_others = False
            for slot in list(pending):
                indices = pending[slot]
                while indices and running < concurrency:
                    if not per_key.try_acquire(slot):
                        waiting_on_others = True
                        break
                    running += 1
                    pool.submit(job, indices.popleft(), slot)
                if not indices:
                    del pending[slot]
                if running >= concurrency:
                    break
            if not pending:
                break
            # Woken by a finished item; or, when a slot is held by another batch, soon.
            timeout = _POLL if waiting_on_others and running < concurrency else None
            if deadline is not None:
                left = max(0.0, deadline - time.monotonic())
                timeout = left if timeout is None else min(timeout, left)
            done.wait(timeout)
        until = None if deadline is None else deadline + cap
        while running:
            left = None if until is None else until - time.monotonic()
            if left is not None and left <= 0:
                break
            done.wait(left)
        return [
            outcome
            if outcome is not None
            else Outcome(
                Result.RETRY, provider_response=f"cut: unanswered {cap:g}s after the time limit"
            )
            for outcome in results
        ]


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
        client: httpx.Client,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self._client = client
        self.limiter = limiter
        self._timeout = request_timeout(self.timeout)

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        return run_batch(
            items,
            lambda item: self._send_one(item, deadline),
            concurrency=self.config.concurrency,
            deadline=deadline,
            cap=self.timeout + 5.0,
            limiter=self.limiter,
            **self._per_host_limit(),
        )

    def _per_host_limit(self) -> dict[str, Any]:
        """`key` and `per_key` for `run_batch` when receivers are many hosts (web push)."""
        return {}

    def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:
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
