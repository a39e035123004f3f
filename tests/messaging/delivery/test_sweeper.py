"""What a dead worker left behind, told from a slow one by heartbeats: rows never
attempted are sent, rows whose attempt had started are resent with the same message ID
(and counted), live work is left alone, shards and lost task messages are enqueued again.

Timestamps are set by hand; the sweep runs eagerly (so a re-enqueued shard runs here)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from analytics.models import EngagementEvent
from messaging.channels.base import Outcome, Result
from messaging.delivery import paging, routing, run, sweeper
from messaging.delivery.outcomes import delivery_record_outcome
from messaging.models import Delivery, Dispatch, DispatchShard, Profile
from messaging.tasks import dispatch_deliver_task, dispatch_sweep_task

pytestmark = pytest.mark.django_db

EMAIL = {"app_id": "a", "from": "orders@acme.test", "subject": "Hi", "body": "<p>Hi</p>"}


class WorkerKilled(BaseException):
    """Stands in for SIGKILL / OOM: nothing in the delivery code gets to clean up."""


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DELIVERY_STALE_SECONDS = 60
    settings.DELIVERY_CHUNK_SIZE = 2


def _accepted(api, make_profile, monkeypatch, django_capture_on_commit_callbacks):
    for name in ("a", "b", "c"):
        make_profile(external_id=name)
    monkeypatch.setattr("messaging.services.dispatch._enqueue", lambda pk: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send", {"external_user_ids": ["a", "b", "c"], "messages": {"email": EMAIL}}
        )
    return Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])


def _crash(dispatch, monkeypatch, *, before_send: bool):
    class Dies:
        name = "smtp"

        def send_batch(self, items, deadline=None):
            raise WorkerKilled

    def dies_routing(channel, items):
        raise WorkerKilled

    monkeypatch.setattr(paging, "BATCH_SIZE", 2)
    monkeypatch.setattr(
        routing, "adapter_for", dies_routing if before_send else lambda c, i: Dies()
    )
    with pytest.raises(WorkerKilled):
        run.dispatch_run(dispatch_pk=dispatch.pk)
    monkeypatch.undo()
    # Nothing of the "dead" run beats on (a heartbeat would keep its rows looking alive).
    assert "delivery-heartbeat" not in [thread.name for thread in threading.enumerate()]
    # The shard is running and the third profile has no row yet. The first chunk's two
    # rows are `sending`, attempt started, when the crash came at the provider; when it
    # came while choosing the adapter, before any network call, they were never created.
    rows = 0 if before_send else 2
    started = Delivery.objects.filter(status="sending", attempt_started_at__isnull=False)
    assert started.count() == rows
    assert Delivery.objects.count() == rows
    assert DispatchShard.objects.get(dispatch=dispatch).status == "running"


@pytest.fixture
def crashed_dispatch(api, make_profile, monkeypatch, django_capture_on_commit_callbacks):
    """A dispatch whose worker died while its first chunk was at the provider."""
    dispatch = _accepted(api, make_profile, monkeypatch, django_capture_on_commit_callbacks)
    _crash(dispatch, monkeypatch, before_send=False)
    return dispatch


def _age(seconds: int) -> None:
    then = timezone.now() - timedelta(seconds=seconds)
    Delivery.objects.filter(status="sending").update(updated_at=then)
    DispatchShard.objects.filter(status="running").update(heartbeat_at=then)


def test_work_with_a_fresh_heartbeat_is_left_alone(crashed_dispatch):
    _age(30)  # a slow receiver, the heartbeat still beating: not ours to judge
    assert dispatch_sweep_task.apply().get() == 0
    assert Delivery.objects.filter(status="sending").count() == 2
    assert DispatchShard.objects.get().status == "running"
    assert not mail.outbox


def test_started_attempts_are_resent_with_the_same_message_id(crashed_dispatch):
    ids = dict(Delivery.objects.values_list("profile__external_id", "message_id"))
    _age(120)
    assert dispatch_sweep_task.apply().get() == 1  # the shard, enqueued again

    rows = {d.profile.external_id: d for d in Delivery.objects.select_related("profile")}
    assert {k: (d.status, d.resends) for k, d in rows.items()} == {
        "a": ("delivered", 1), "b": ("delivered", 1), "c": ("delivered", 0),
    }
    assert {k: d.message_id for k, d in rows.items() if k in ids} == ids  # same IDs
    # Each one went out here once: a and b under the IDs of the attempt that died.
    sent = {m.to[0]: m.extra_headers["X-Herald-Message-Id"] for m in mail.outbox}
    assert sent == {
        f"user{i}@example.test": rows[k].message_id for i, k in [(1, "a"), (2, "b"), (3, "c")]
    }
    dispatch = Dispatch.objects.get(pk=crashed_dispatch.pk)
    assert dispatch.status == Dispatch.Status.DONE
    assert (dispatch.delivered_count, dispatch.failed_count, dispatch.resent_count) == (3, 0, 2)
    assert dispatch.recipients_resolved == 3
    assert EngagementEvent.objects.filter(kind="sent", dispatch=dispatch).count() == 3

    # A second sweep changes nothing and records nothing twice.
    assert dispatch_sweep_task.apply().get() == 0
    assert len(mail.outbox) == 3


def test_rows_never_attempted_are_sent_without_counting_a_resend(
    api, make_profile, monkeypatch, django_capture_on_commit_callbacks
):
    dispatch = _accepted(api, make_profile, monkeypatch, django_capture_on_commit_callbacks)
    _crash(dispatch, monkeypatch, before_send=True)
    assert not Delivery.objects.filter(attempt_started_at__isnull=False).exists()
    _age(120)
    dispatch_sweep_task.apply()
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE
    assert (dispatch.delivered_count, dispatch.resent_count) == (3, 0)
    assert set(Delivery.objects.values_list("resends", flat=True)) == {0}
    assert len(mail.outbox) == 3


def test_a_slow_worker_answering_after_the_release_is_recorded_once(crashed_dispatch):
    _age(120)
    touched = sweeper.deliveries_stale_release(stale_after=timedelta(seconds=60))
    assert set(touched) == {crashed_dispatch.pk}
    row = Delivery.objects.get(profile__external_id="a")
    assert row.status == "pending"
    # The "dead" worker was only slow and now reports its answer: it is the row's.
    delivery_record_outcome(
        delivery=row, outcome=Outcome(Result.DELIVERED, "250 late"), provider="smtp",
        give_up=False,
    )
    row.refresh_from_db()
    assert (row.status, row.provider_response) == ("delivered", "250 late")
    # The shard, run again, sends the others only; nothing is counted twice.
    dispatch_sweep_task.apply()
    assert sorted(m.to[0] for m in mail.outbox) == ["user2@example.test", "user3@example.test"]
    dispatch = Dispatch.objects.get(pk=crashed_dispatch.pk)
    assert (dispatch.status, dispatch.delivered_count) == (Dispatch.Status.DONE, 3)
    assert EngagementEvent.objects.filter(kind="delivered", dispatch=dispatch).count() == 3


def test_a_late_retry_answer_does_not_bring_a_recorded_row_back(crashed_dispatch):
    _age(120)
    dispatch_sweep_task.apply()
    row = Delivery.objects.get(profile__external_id="a")
    assert row.status == "delivered"
    delivery_record_outcome(
        delivery=row, outcome=Outcome(Result.RETRY, "421 try later"), provider="smtp",
        give_up=False,
    )
    row.refresh_from_db()
    assert row.status == Delivery.Status.DELIVERED


def test_a_done_shard_holding_released_rows_is_reopened(crashed_dispatch):
    # The stale rows' shard finished meanwhile (counted done): releasing them reopens it,
    # and the dispatch with it, until they are sent.
    shard = DispatchShard.objects.get()
    DispatchShard.objects.filter(pk=shard.pk).update(status="done")
    Dispatch.objects.filter(pk=crashed_dispatch.pk).update(shards_done=1, status="done")
    _age(120)
    dispatch_sweep_task.apply()
    dispatch = Dispatch.objects.get(pk=crashed_dispatch.pk)
    assert (dispatch.status, dispatch.shards_done, dispatch.delivered_count) == ("done", 1, 3)


def test_lost_task_messages_are_enqueued_again(
    api, make_profile, monkeypatch, django_capture_on_commit_callbacks
):
    dispatch = _accepted(api, make_profile, monkeypatch, django_capture_on_commit_callbacks)
    # The broker was down when it was accepted: marked, and published at the next sweep.
    Dispatch.objects.filter(pk=dispatch.pk).update(needs_enqueue=True)
    assert dispatch_sweep_task.apply().get() == 1
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.needs_enqueue, len(mail.outbox)) == ("done", False, 3)


def test_a_pending_shard_never_published_is_enqueued(
    api, make_profile, monkeypatch, django_capture_on_commit_callbacks
):
    dispatch = _accepted(api, make_profile, monkeypatch, django_capture_on_commit_callbacks)
    monkeypatch.setattr("messaging.tasks.shards_publish", lambda pks, queue: 0)
    Dispatch.objects.filter(pk=dispatch.pk).update(audience={"broadcast": True})
    dispatch_deliver_task.apply(args=[dispatch.pk])  # a broadcast: its shards are published
    monkeypatch.undo()
    shard = DispatchShard.objects.get(dispatch=dispatch)
    assert (shard.status, shard.enqueued_at) == ("pending", None)
    assert dispatch_sweep_task.apply().get() == 1
    assert Dispatch.objects.get(pk=dispatch.pk).status == "done"
    assert len(mail.outbox) == 3


def test_two_sweepers_at_once_release_each_row_once(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (select_for_update skip_locked) need PostgreSQL")
    dispatch = Dispatch.objects.create(
        audience={"external_user_ids": []}, messages={"email": EMAIL},
        status=Dispatch.Status.RUNNING,
    )
    old = timezone.now() - timedelta(hours=1)
    for i in range(60):
        profile = Profile.objects.create(external_id=f"s{i}", email=f"s{i}@example.test")
        Delivery.objects.create(dispatch=dispatch, profile=profile, channel="email",
                                status="sending", address=profile.email, attempt_started_at=old)
    Delivery.objects.update(updated_at=old)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep():
        barrier.wait()
        try:
            sweeper.deliveries_stale_release(stale_after=timedelta(seconds=60), limit=7)
            sweeper.deliveries_stale_release(stale_after=timedelta(seconds=60))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Delivery.objects.filter(status="pending", resends=1).count() == 60
    assert Dispatch.objects.get(pk=dispatch.pk).resent_count == 60


def test_a_broker_loss_is_remembered_until_its_work_is_republished(
    api, make_profile, monkeypatch, django_capture_on_commit_callbacks
):
    """A sweep that saw the queues lost but could not publish everything again drops the
    marker, so the next sweep still knows; one that published everything keeps it."""
    dispatch = _accepted(api, make_profile, monkeypatch, django_capture_on_commit_callbacks)
    Dispatch.objects.filter(pk=dispatch.pk).update(needs_enqueue=True)
    forgotten = []
    monkeypatch.setattr("messaging.tasks._broker_lost", lambda app: True)
    monkeypatch.setattr("messaging.tasks._broker_marker_forget", forgotten.append)
    monkeypatch.setattr("messaging.tasks.shards_publish", lambda pks, queue: 0)

    def refused(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(dispatch_deliver_task, "apply_async", refused)
    assert dispatch_sweep_task.apply().get() == 0
    assert len(forgotten) == 1
    monkeypatch.undo()
    monkeypatch.setattr("messaging.tasks._broker_lost", lambda app: True)
    monkeypatch.setattr("messaging.tasks._broker_marker_forget", forgotten.append)
    assert dispatch_sweep_task.apply().get() == 1
    assert len(forgotten) == 1
    assert Dispatch.objects.get(pk=dispatch.pk).status == "done"
