"""Webhooks of a batch go out concurrently through the shared client: bounded per host and
in all, under the batch's deadline, and carrying a stable message ID."""

from __future__ import annotations

import time

import pytest

from messaging.channels.base import Outgoing, Result
from messaging.channels.webhook import WebhookAdapter
from tests.fakes.hosts import HttpHost


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def _item(url: str, n: int, **payload) -> Outgoing:
    return Outgoing(
        message_id=f"{n:032x}", address=url, payload={"url": url, "body": "x", **payload}
    )


def test_a_hanging_receiver_delays_only_its_own_messages(http_client):
    adapter = WebhookAdapter(http_client, timeout=2.0, concurrency=32, per_host=8)
    with HttpHost(delay=30) as hanging, HttpHost() as fast:
        items = [_item(f"{hanging.url}/h/{n}", n) for n in range(10)]
        items += [_item(f"{fast.url}/f/{n}", 100 + n) for n in range(20)]
        started = time.monotonic()
        outcomes = adapter.send_batch(items)
        elapsed = time.monotonic() - started
        assert len(fast.received) == 20
        # Every fast message arrived at once, long before the hanging host's 2 s timeout.
        assert max(r.at for r in fast.received) - started < 1.0
        # The hanging host got 8 at once (its per-host limit), the last 2 after they timed out.
        assert sorted(r.at - started < 1.0 for r in hanging.received) == [False] * 2 + [True] * 8
    assert [o.result for o in outcomes[10:]] == [Result.DELIVERED] * 20
    assert {o.result for o in outcomes[:10]} == {Result.RETRY}
    assert all(o.attempted and "timeout" in o.provider_response for o in outcomes[:10])
    # 8 at once, then the last 2: two rounds of the 2 s timeout, not ten.
    assert 3.5 < elapsed < 8


def test_at_most_per_host_requests_at_once_to_one_receiver(http_client):
    adapter = WebhookAdapter(http_client, timeout=5.0, concurrency=32, per_host=4)
    with HttpHost(delay=0.2) as slow:
        started = time.monotonic()
        outcomes = adapter.send_batch([_item(f"{slow.url}/s", n) for n in range(12)])
        elapsed = time.monotonic() - started
        assert slow.most_in_flight == 4
    assert [o.result for o in outcomes] == [Result.DELIVERED] * 12
    assert elapsed >= 0.55  # three rounds of 0.2 s


def test_items_not_started_by_the_deadline_come_back_not_attempted(http_client):
    adapter = WebhookAdapter(http_client, timeout=5.0, concurrency=32, per_host=2)
    with HttpHost(delay=0.5) as slow:
        outcomes = adapter.send_batch(
            [_item(f"{slow.url}/s", n) for n in range(6)], deadline=time.monotonic() + 0.25
        )
        assert len(slow.received) == 2
    # The two in flight at the deadline ran on to their answer; the rest never started.
    assert [(o.result, o.attempted) for o in outcomes[:2]] == [(Result.DELIVERED, True)] * 2
    assert [(o.result, o.attempted) for o in outcomes[2:]] == [(Result.RETRY, False)] * 4
    assert "time limit" in outcomes[2].provider_response


def test_a_request_in_flight_at_the_deadline_is_cut_by_its_own_timeout(http_client):
    adapter = WebhookAdapter(http_client, timeout=1.0, concurrency=32, per_host=8)
    with HttpHost(delay=30) as hanging:
        started = time.monotonic()
        [outcome] = adapter.send_batch(
            [_item(f"{hanging.url}/h", 1)], deadline=time.monotonic() + 0.1
        )
        assert time.monotonic() - started < 3
    assert (outcome.result, outcome.attempted) == (Result.RETRY, True)


def test_the_message_id_header_is_the_same_on_a_resend_and_cannot_be_overridden(http_client):
    adapter = WebhookAdapter(http_client)
    with HttpHost() as host:
        item = _item(f"{host.url}/m", 7, request_headers={"x-herald-message-id": "forged"})
        adapter.send_batch([item])
        adapter.send_batch([item])  # resent after a crash: same row, same ID
        ids = [
            [v for k, v in r.headers.items() if k.lower() == "x-herald-message-id"]
            for r in host.received
        ]
    assert ids == [[item.message_id], [item.message_id]]


def test_batches_reuse_the_shared_clients_connections(http_client):
    adapter = WebhookAdapter(http_client, per_host=2)
    with HttpHost() as host:
        for round_ in range(3):
            adapter.send_batch([_item(f"{host.url}/r", round_ * 10 + n) for n in range(4)])
        assert len(host.received) == 12
        # Two keep-alive connections (the per-host limit) carried all three batches.
        assert len({r.peer for r in host.received}) <= 2
