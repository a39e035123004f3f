"""The delivery engine on any database: shards, bulk rows, chunks, batched recording,
queues and cancelling."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from kombu.exceptions import OperationalError

from analytics.models import EngagementEvent
from messaging.channels.base import Outcome, Result
from messaging.delivery import cancel, outcomes, routing, rows, run, shards
from messaging.models import Delivery, Dispatch, DispatchShard
from messaging.tasks import dispatch_deliver_task, dispatch_shard_task

pytestmark = pytest.mark.django_db

EMAIL = {"app_id": "a", "from": "orders@acme.test", "subject": "Hi", "body": "<p>Hi</p>"}


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DISPATCH_SHARD_SIZE = 3
    settings.DELIVERY_CHUNK_SIZE = 2


@pytest.fixture
def published(monkeypatch):
    """Task messages as published (name, args, queue); eager tasks still run."""
    calls: list[tuple[str, list, str | None]] = []
    for task in (dispatch_deliver_task, dispatch_shard_task):
        original = task.apply_async

        def spy(args=None, kwargs=None, _task=task, _original=original, **options):
            calls.append((_task.name.rsplit(".", 1)[-1], list(args or []), options.get("queue")))
            return _original(args=args, kwargs=kwargs, **options)

        monkeypatch.setattr(task, "apply_async", spy)
    return calls


def test_a_broadcast_is_cut_into_shards_each_its_own_task_on_the_bulk_queue(
    send, make_profile, published
):
    profiles = [make_profile(external_id=f"p{i}") for i in range(7)]
    dispatch = send({"broadcast": True, "messages": {"email": EMAIL}})
    dispatch.refresh_from_db()
    shard_rows = list(DispatchShard.objects.filter(dispatch=dispatch).order_by("index"))
    # Ranges of 3 profiles, covering the audience without overlap.
    assert [(s.pk_from, s.pk_to) for s in shard_rows] == [
        (0, profiles[2].pk), (profiles[2].pk, profiles[5].pk), (profiles[5].pk, profiles[6].pk)
    ]
    assert {s.status for s in shard_rows} == {"done"}
    shard_tasks = [c for c in published if c[0] == "dispatch_shard_task"]
    assert sorted(args[0] for _, args, _ in shard_tasks) == [s.pk for s in shard_rows]
    assert {queue for _, _, queue in shard_tasks} == {"bulk"}
    assert (dispatch.status, dispatch.queue, dispatch.shards_total, dispatch.shards_done) == (
        "done", "bulk", 3, 3,
    )
    assert (dispatch.recipients_total, dispatch.recipients_resolved, dispatch.delivered_count) == (
        7, 7, 7,
    )
    assert len(mail.outbox) == 7


def test_a_few_listed_recipients_are_sent_by_the_dispatch_task_itself(
    send, make_profile, published
):
    for i in range(2):
        make_profile(external_id=f"t{i}")
    dispatch = send({"external_user_ids": ["t0", "t1"], "messages": {"email": EMAIL}})
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.queue, dispatch.shards_total) == ("done", "transactional", 1)
    assert [c[0] for c in published] == ["dispatch_deliver_task"]  # no second task
    assert len(mail.outbox) == 2


def test_running_a_shard_twice_sends_nothing_twice(send, make_profile):
    for i in range(4):
        make_profile(external_id=f"p{i}")
    dispatch = send({"broadcast": True, "messages": {"email": EMAIL}})
    for shard in DispatchShard.objects.filter(dispatch=dispatch):
        DispatchShard.objects.filter(pk=shard.pk).update(status="pending")
        assert shards.shard_run(shard_pk=shard.pk).ran
    dispatch_deliver_task.apply(args=[dispatch.pk])
    run.dispatch_run(dispatch_pk=dispatch.pk)
    assert len(mail.outbox) == 4
    assert Delivery.objects.filter(dispatch=dispatch).count() == 4
    assert Dispatch.objects.get(pk=dispatch.pk).delivered_count == 4


def test_a_chunk_of_rows_is_one_insert_born_claimed(make_profile, settings, monkeypatch):
    settings.DISPATCH_SHARD_SIZE = 100
    settings.DELIVERY_CHUNK_SIZE = 2
    for i in range(5):
        make_profile(external_id=f"p{i}")
    dispatch = Dispatch.objects.create(
        audience={"broadcast": True}, messages={"email": EMAIL, "webhook": {"url": "https://x.test/"}}
    )
    shards.dispatch_plan(dispatch_pk=dispatch.pk)
    (shard,) = DispatchShard.objects.filter(dispatch=dispatch)
    inserts = []  # rows per INSERT or COPY (raw on PostgreSQL: not seen by Django)
    real_insert = rows.rows_insert

    def counted(chunk, **kwargs):
        inserts.append(len(chunk))
        return real_insert(chunk, **kwargs)

    class Ok:
        name = "ok"

        def send_batch(self, items, deadline=None):
            return [Outcome(Result.DELIVERED, "ok")] * len(items)

    monkeypatch.setattr(rows, "rows_insert", counted)
    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Ok())
    with CaptureQueriesContext(connection) as queries:
        shards.shard_run(shard_pk=shard.pk)
    statements = [q["sql"].replace('"', "") for q in queries]
    updates = [sql for sql in statements if sql.startswith("UPDATE messaging_delivery ")]
    # Per channel, 3 chunks of at most 2 rows: one INSERT each, the rows born claimed
    # (no UPDATE to `sending`), then one UPDATE each for the answers.
    assert inserts == [2, 2, 1, 2, 2, 1]
    assert len(updates) == 6
    assert not [sql for sql in updates if "sending" in sql.split("WHERE")[0]]
    assert Delivery.objects.filter(dispatch=dispatch, status="delivered").count() == 10
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_outcomes_of_a_chunk_are_recorded_in_one_call(send, make_profile, monkeypatch, settings):
    settings.DISPATCH_SHARD_SIZE = 100
    for i in range(4):
        make_profile(external_id=f"p{i}")
    calls = []
    original = outcomes.engagement_record_many

    def spy(*, events):
        calls.append(sorted({e["kind"] for e in events}))
        return original(events=events)

    monkeypatch.setattr(outcomes, "engagement_record_many", spy)
    send({"external_user_ids": [f"p{i}" for i in range(4)], "messages": {"email": EMAIL}})
    # Two chunks of two rows: one call each, with both kinds.
    assert calls == [["delivered", "sent"], ["delivered", "sent"]]
    assert EngagementEvent.objects.filter(kind="sent").count() == 4


def test_sandbox_deliveries_are_sandboxed_not_delivered(send, make_profile):
    make_profile(external_id="a", phone="+15550001")
    make_profile(external_id="b", phone="")
    dispatch = send(
        {
            "external_user_ids": ["a", "b"],
            "messages": {"sms": {"app_id": "a", "subscription_group_id": "g", "body": "Hi"}},
        }
    )
    dispatch.refresh_from_db()
    assert (dispatch.delivered_count, dispatch.sandboxed_count, dispatch.skipped_count) == (
        0, 1, 1,
    )
    kinds = sorted(EngagementEvent.objects.filter(dispatch=dispatch).values_list("kind", flat=True))
    assert kinds == ["sandboxed", "skipped"]
    assert not EngagementEvent.objects.filter(kind__in=["sent", "delivered"]).exists()


def test_cancel_between_chunks_skips_what_was_not_sent(send, make_profile, monkeypatch, settings):
    settings.DISPATCH_SHARD_SIZE = 100
    for i in range(6):
        make_profile(external_id=f"p{i}")
    sent: list[str] = []

    class CancelsAfterFirstChunk:
        name = "smtp"

        def send_batch(self, items, deadline=None):
            sent.extend(item.address for item in items)
            if len(sent) == 2:  # the marketer presses Cancel while the first chunk is out
                cancel.dispatch_cancel(dispatch_pk=Delivery.objects.first().dispatch_id)
            return [Outcome(Result.DELIVERED, "250 ok")] * len(items)

    monkeypatch.setattr(routing, "adapter_for", lambda c, i: CancelsAfterFirstChunk())
    dispatch = send({"broadcast": True, "messages": {"email": EMAIL}})
    dispatch.refresh_from_db()
    assert len(sent) == 2  # the shard stopped between chunks
    assert dispatch.status == "cancelled" and dispatch.cancelled_at is not None
    # The next chunk was written while the first was out: never sent, it is skipped as
    # cancelled. Rows are created a chunk at a time: the last two profiles have none.
    assert (dispatch.delivered_count, dispatch.skipped_count) == (2, 2)
    rows = Delivery.objects.filter(dispatch=dispatch).order_by("pk")
    assert list(rows.values_list("status", "error")) == [
        ("delivered", ""), ("delivered", ""), ("skipped", "cancelled"), ("skipped", "cancelled"),
    ]
    # Sent: attempted; written but never handed over: not.
    assert [row.attempt_started_at is not None for row in rows] == [True, True, False, False]
    assert DispatchShard.objects.get(dispatch=dispatch).status == "cancelled"


def test_cancel_skips_the_rows_left_pending(send, make_profile, monkeypatch, settings):
    """Rows an earlier attempt left pending (a retry) are skipped as cancelled."""
    settings.DISPATCH_SHARD_SIZE = 100
    for i in range(3):
        make_profile(external_id=f"p{i}")

    class Defers:
        name = "smtp"

        def send_batch(self, items, deadline=None):
            return [Outcome(Result.RETRY, "451 later")] * len(items)

    monkeypatch.setattr(routing, "adapter_for", lambda c, i: Defers())
    monkeypatch.setattr("messaging.tasks.MAX_DELIVERY_RETRIES", 0)
    dispatch = Dispatch.objects.create(audience={"broadcast": True}, messages={"email": EMAIL})
    (shard_pk,) = shards.dispatch_plan(dispatch_pk=dispatch.pk).shard_pks
    assert shards.shard_run(shard_pk=shard_pk).retry
    assert Delivery.objects.filter(dispatch=dispatch, status="pending").count() == 3
    assert cancel.dispatch_cancel(dispatch_pk=dispatch.pk)
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.skipped_count) == ("cancelled", 3)
    rows = Delivery.objects.filter(dispatch=dispatch)
    assert set(rows.values_list("status", "error")) == {("skipped", "cancelled")}
    assert EngagementEvent.objects.filter(dispatch=dispatch, kind="skipped").count() == 3


def test_the_dispatch_page_cancels_honestly(marketer_client, make_profile, campaign):
    profile = make_profile(external_id="ada")
    other = make_profile(external_id="bo")
    dispatch = Dispatch.objects.create(
        campaign=campaign, messages={"email": EMAIL}, audience={"broadcast": True},
        status=Dispatch.Status.RUNNING, delivered_count=1,
    )
    Delivery.objects.create(dispatch=dispatch, profile=profile, channel="email", status="delivered")
    Delivery.objects.create(dispatch=dispatch, profile=other, channel="email", status="pending")
    url = reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id])
    page = marketer_client.get(url).content.decode()
    assert "Cancel this send" in page
    cancel_url = reverse("messaging:dispatch-cancel", args=[dispatch.dispatch_id])
    assert marketer_client.get(cancel_url).status_code == 405  # a POST only
    response = marketer_client.post(cancel_url, follow=True)
    content = response.content.decode()
    assert "1 message had gone out" in content and "Cancelled" in content
    assert "Cancel this send" not in content
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.skipped_count) == ("cancelled", 1)
    assert Delivery.objects.get(profile=other).status == "skipped"
    again = marketer_client.post(cancel_url, follow=True).content.decode()
    assert "already finished" in again


def test_the_dispatch_page_shows_outcomes_per_channel(marketer_client, make_profile, campaign):
    dispatch = Dispatch.objects.create(
        campaign=campaign, messages={"email": EMAIL, "sms": {}}, status=Dispatch.Status.DONE,
        delivered_count=1, sandboxed_count=1, failed_count=1, bounced_count=1, skipped_count=1,
        resent_count=1,
    )
    a, b = make_profile(external_id="a"), make_profile(external_id="b")
    Delivery.objects.create(dispatch=dispatch, profile=a, channel="email", status="delivered",
                            provider="smtp", resends=1)
    Delivery.objects.create(dispatch=dispatch, profile=b, channel="email", status="bounced")
    Delivery.objects.create(dispatch=dispatch, profile=a, channel="sms", status="delivered",
                            provider="sandbox")
    Delivery.objects.create(dispatch=dispatch, profile=b, channel="sms", status="skipped",
                            error="no phone number")
    page = marketer_client.get(
        reverse("messaging:dispatch-detail", args=[dispatch.dispatch_id])
    ).content.decode()
    assert 'id="stat-sandboxed">1<' in page and 'id="stat-resent">1<' in page
    assert "1 bounced" in page and "no phone number: 1" in page
    assert 'id="per-channel"' in page


def test_a_send_while_the_broker_is_down_is_marked_for_the_next_sweep(
    api, make_profile, django_capture_on_commit_callbacks, monkeypatch
):
    make_profile(external_id="a")

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(dispatch_deliver_task, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send", {"external_user_ids": ["a"], "messages": {"email": EMAIL}}
        )
    assert response.status_code == 201
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    assert (dispatch.status, dispatch.needs_enqueue) == ("queued", True)


def test_rows_whose_dispatch_and_campaign_are_unchecked_still_go_with_them(
    send, make_profile, campaign
):
    # Delivery.dispatch and .campaign have no database constraint (a third of a chunk's
    # INSERT): the ORM's collector deletes a dispatch's rows, and a campaign that has
    # dispatches cannot be deleted at all.
    from django.db.models import ProtectedError

    make_profile(external_id="a", email="a@example.test")
    variation = campaign.variations.get(channel="email")
    dispatch = send({"campaign_id": str(campaign.api_id), "external_user_ids": ["a"],
                     "messages": {"email": {**EMAIL, "message_variation_id":
                                            str(variation.api_id)}}})
    assert Delivery.objects.filter(dispatch=dispatch, campaign=campaign).count() == 1
    with pytest.raises(ProtectedError):
        campaign.delete()
    dispatch.delete()
    assert not Delivery.objects.exists()
    assert not EngagementEvent.objects.filter(delivery__isnull=False).exists()
