"""Rows a dead worker left in `sending`: failed by the sweeper (never resent), counted, and
their dispatch finished."""

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
from messaging.models import Delivery, Dispatch, Profile
from messaging.tasks import dispatch_sweep_task

pytestmark = pytest.mark.django_db

EMAIL = {"app_id": "a", "from": "orders@acme.test", "subject": "Hi", "body": "<p>Hi</p>"}


class WorkerKilled(BaseException):
    """Stands in for SIGKILL / OOM: nothing in the delivery code gets to clean up."""


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DELIVERY_ABANDONED_AFTER_MINUTES = 15


@pytest.fixture
def crashed_dispatch(api, make_profile, monkeypatch, django_capture_on_commit_callbacks):
    """A dispatch whose worker died while handing its first batch to the provider."""
    for name in ("a", "b", "c"):
        make_profile(external_id=name)
    monkeypatch.setattr("messaging.services.dispatch._enqueue", lambda pk: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send", {"external_user_ids": ["a", "b", "c"], "messages": {"email": EMAIL}}
        )
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    class Dies:
        name = "smtp"

        def send_batch(self, items, *, deadline=None):
            raise WorkerKilled

    monkeypatch.setattr(paging, "BATCH_SIZE", 2)
    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Dies())
    with pytest.raises(WorkerKilled):
        run.dispatch_run(dispatch_pk=dispatch.pk)
    monkeypatch.undo()
    # The crash left two rows claimed, the third profile without a row, the dispatch running.
    assert Delivery.objects.filter(status="sending").count() == 2
    assert Delivery.objects.count() == 2
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.RUNNING
    return dispatch


def _age(minutes: int) -> None:
    Delivery.objects.filter(status="sending").update(
        updated_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_recent_sending_rows_are_left_alone(crashed_dispatch):
    _age(5)  # maybe a slow provider, still working: not ours to judge yet
    assert dispatch_sweep_task.apply().get() == 0
    assert Delivery.objects.filter(status="sending").count() == 2
    assert not mail.outbox


def test_abandoned_rows_fail_without_resending_and_the_dispatch_finishes(crashed_dispatch):
    _age(20)
    assert dispatch_sweep_task.apply().get() == 1  # the dispatch was re-enqueued to finish

    abandoned = Delivery.objects.filter(profile__external_id__in=["a", "b"])
    assert {(d.status, d.error) for d in abandoned} == {
        ("failed", "worker lost during send; not retried to avoid a duplicate")
    }
    # Never sent a second time; the profile that had no row yet got its message.
    assert [m.to[0] for m in mail.outbox] == ["user3@example.test"]
    dispatch = Dispatch.objects.get(pk=crashed_dispatch.pk)
    assert dispatch.status == Dispatch.Status.DONE
    assert (dispatch.delivered_count, dispatch.failed_count, dispatch.recipients_resolved) == (
        1,
        2,
        3,
    )
    failed_events = EngagementEvent.objects.filter(kind="failed", dispatch=dispatch)
    assert failed_events.count() == 2

    # A second sweep changes nothing and records nothing twice.
    _age(20)
    assert dispatch_sweep_task.apply().get() == 0
    assert failed_events.count() == 2
    assert len(mail.outbox) == 1


def test_a_finished_dispatch_gets_its_counts_corrected(crashed_dispatch):
    # The task was redelivered meanwhile and finished the rest, skipping the claimed rows.
    run.dispatch_run(dispatch_pk=crashed_dispatch.pk)
    dispatch = Dispatch.objects.get(pk=crashed_dispatch.pk)
    assert dispatch.status == Dispatch.Status.DONE
    assert (dispatch.delivered_count, dispatch.failed_count) == (1, 0)
    _age(20)
    assert dispatch_sweep_task.apply().get() == 0  # done already: nothing to re-enqueue
    dispatch.refresh_from_db()
    assert (dispatch.delivered_count, dispatch.failed_count) == (1, 2)
    assert len(mail.outbox) == 1


def test_a_late_retry_answer_does_not_bring_a_swept_row_back(crashed_dispatch):
    _age(20)
    dispatch_sweep_task.apply()
    row = Delivery.objects.get(profile__external_id="a")
    # The "dead" worker was only slow and now reports a temporary failure.
    delivery_record_outcome(
        delivery=row, outcome=Outcome(Result.RETRY, "421 try later"), provider="smtp",
        give_up=False,
    )
    row.refresh_from_db()
    assert row.status == Delivery.Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_fail_each_row_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks (select_for_update skip_locked) need PostgreSQL")
    dispatch = Dispatch.objects.create(
        audience={"external_user_ids": []}, messages={"email": EMAIL},
        status=Dispatch.Status.DONE,
    )
    old = timezone.now() - timedelta(hours=1)
    for i in range(60):
        profile = Profile.objects.create(external_id=f"s{i}", email=f"s{i}@example.test")
        Delivery.objects.create(dispatch=dispatch, profile=profile, channel="email",
                                status="sending", address=profile.email)
    Delivery.objects.update(updated_at=old)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def sweep():
        barrier.wait()
        try:
            sweeper.deliveries_abandoned_fail(older_than=timedelta(minutes=15), limit=7)
            sweeper.deliveries_abandoned_fail(older_than=timedelta(minutes=15))
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
    assert Delivery.objects.filter(status="failed").count() == 60
    assert EngagementEvent.objects.filter(kind="failed", dispatch=dispatch).count() == 60
    assert Dispatch.objects.get(pk=dispatch.pk).failed_count == 60
