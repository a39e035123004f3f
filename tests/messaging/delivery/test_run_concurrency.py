"""Workers running one dispatch at the same time send each message once (PostgreSQL)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from messaging.channels.base import Outcome, Result
from messaging.delivery import paging, routing
from messaging.delivery.run import dispatch_run
from messaging.models import Delivery, Dispatch, Profile


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_of_one_dispatch_send_each_message_once(monkeypatch, settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (select_for_update skip_locked) need PostgreSQL")
    for i in range(40):
        Profile.objects.create(external_id=f"c{i}", email=f"c{i}@example.test")
    dispatch = Dispatch.objects.create(
        audience={"external_user_ids": [f"c{i}" for i in range(40)]},
        messages={"email": {"app_id": "a", "from": "a@b.test", "body": "Hi"}},
    )
    sent: list[str] = []
    senders: set[str] = set()
    lock = threading.Lock()

    class Slow:
        name = "slow"

        def send_batch(self, items, deadline=None):
            time.sleep(0.2)  # keep the claim window open while the other run arrives
            with lock:
                sent.extend(item.address for item in items)
                senders.add(threading.current_thread().name)
            return [Outcome(Result.DELIVERED, "ok")] * len(items)

    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Slow())
    monkeypatch.setattr(paging, "BATCH_SIZE", 10)
    # Four shards: each run plans (the first one really does) and takes the shards free.
    settings.DISPATCH_SHARD_SIZE = 10
    barrier = threading.Barrier(3)

    def one_run():
        barrier.wait()
        try:
            dispatch_run(dispatch_pk=dispatch.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 40 and len(set(sent)) == 40
    assert len(senders) > 1  # the runs really overlapped, shard by shard
    assert Delivery.objects.filter(dispatch=dispatch, status="delivered").count() == 40
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.shards_total, dispatch.shards_done) == ("done", 4, 4)
    assert dispatch.delivered_count == 40
