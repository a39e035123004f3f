"""A run of a dispatch: audience, subscription rules, rendering, claims, retries, events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from analytics.models import EngagementEvent, Segment, SegmentMember
from config.celery import app
from messaging.channels.base import Outcome, Result
from messaging.delivery import paging, routing, run, shards, sweeper
from messaging.delivery.plans import channel_plans
from messaging.delivery.rows import rows_create, rows_render
from messaging.models import Delivery, Dispatch, PushToken, UserAlias
from messaging.tasks import dispatch_deliver_task, dispatch_sweep_task

pytestmark = pytest.mark.django_db

EMAIL = {
    "app_id": "a",
    "from": "Acme <orders@acme.test>",
    "subject": "Hi {{${first_name}}}",
    "body": "<p>Hello {{${first_name} | default: 'there'}}</p>",
}


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def send(api, django_capture_on_commit_callbacks):
    def post(payload, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/messages/send", payload, **extra)
        assert response.status_code == 201, response.json()
        return Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    return post


def test_personalized_email_per_recipient_with_events_and_campaign_dates(
    send, make_profile, campaign, variation
):
    make_profile(external_id="a", first_name="Ada", email="ada@example.test")
    make_profile(external_id="b", first_name="", email="bob@example.test")
    dispatch = send(
        {
            "campaign_id": campaign.campaign_id,
            "external_user_ids": ["a", "b"],
            "messages": {"email": {**EMAIL, "message_variation_id": variation("email")}},
        }
    )
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE
    assert (dispatch.recipients_total, dispatch.recipients_resolved, dispatch.delivered_count) == (
        2,
        2,
        2,
    )
    by_address = {m.to[0]: m for m in mail.outbox}
    assert by_address["ada@example.test"].subject == "Hi Ada"
    assert "Hello there" in by_address["bob@example.test"].alternatives[0][0]
    delivery = Delivery.objects.get(profile__external_id="a")
    assert delivery.variation.message_variation_id == variation("email")
    assert delivery.rendered["subject"] == "Hi Ada"
    kinds = sorted(EngagementEvent.objects.filter(delivery=delivery).values_list("kind", flat=True))
    assert kinds == ["delivered", "sent"]
    campaign.refresh_from_db()
    assert campaign.first_sent_at is not None and campaign.last_sent_at >= campaign.first_sent_at


def test_running_the_task_again_sends_nothing_twice(send, make_profile):
    make_profile(external_id="a")
    dispatch = send({"external_user_ids": ["a"], "messages": {"email": EMAIL}})
    Dispatch.objects.filter(pk=dispatch.pk).update(status=Dispatch.Status.RUNNING)
    dispatch_deliver_task.apply(args=[dispatch.pk])
    run.dispatch_run(dispatch_pk=dispatch.pk)
    assert len(mail.outbox) == 1
    assert Delivery.objects.count() == 1
    assert EngagementEvent.objects.filter(kind="sent").count() == 1


def test_a_row_claimed_by_another_worker_is_not_sent(send, make_profile, monkeypatch):
    make_profile(external_id="a")
    make_profile(external_id="b")
    calls = []

    class Recorder:
        name = "recorder"

        def send_batch(self, items, deadline=None):
            calls.extend(item.address for item in items)
            return [Outcome(Result.DELIVERED, "ok")] * len(items)

    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Recorder())
    monkeypatch.setattr("messaging.tasks.dispatch_plan", lambda **kw: shards.Plan(finished=True))
    dispatch = send({"external_user_ids": ["a", "b"], "messages": {"email": EMAIL}})
    monkeypatch.undo()
    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Recorder())
    # Rows exist (an earlier run's): "a" is held by another worker right now (sending),
    # "b" waits (pending).
    plan = channel_plans(dispatch)[0]
    profiles = list(paging.audience_queryset(dispatch))
    rows = rows_render(dispatch=dispatch, plan=plan, profiles=profiles)
    rows_create(dispatch=dispatch, plan=plan, rows=rows, resolved=set())
    Delivery.objects.filter(profile__external_id="b").update(status=Delivery.Status.PENDING)
    run.dispatch_run(dispatch_pk=dispatch.pk)
    assert calls == ["user2@example.test"]


def test_subscription_rules_per_channel_and_global_control_group_is_ignored(send, make_profile):
    make_profile(external_id="sub", email="sub@example.test")
    make_profile(external_id="opt", email="opt@example.test", email_subscribe="opted_in")
    make_profile(external_id="unsub", email="unsub@example.test", email_subscribe="unsubscribed")
    make_profile(external_id="gcg", email="gcg@example.test", in_global_control_group=True)
    make_profile(external_id="noaddr", email="")
    ids = ["sub", "opt", "unsub", "gcg", "noaddr"]

    send({"external_user_ids": ids, "messages": {"email": EMAIL}})
    assert sorted(m.to[0] for m in mail.outbox) == [
        "gcg@example.test",
        "opt@example.test",
        "sub@example.test",
    ]
    skipped = dict(
        Delivery.objects.filter(status="skipped").values_list("profile__external_id", "error")
    )
    assert skipped == {"unsub": "email unsubscribed", "noaddr": "no email address"}

    mail.outbox.clear()
    send(
        {
            "external_user_ids": ids,
            "recipient_subscription_state": "opted_in",
            "messages": {"email": EMAIL},
        }
    )
    assert [m.to[0] for m in mail.outbox] == ["opt@example.test"]

    mail.outbox.clear()
    send(
        {
            "external_user_ids": ids,
            "recipient_subscription_state": "all",
            "messages": {"email": EMAIL},
        }
    )
    assert len(mail.outbox) == 4


def test_broadcast_walks_the_audience_in_batches(send, make_profile, monkeypatch):
    for i in range(7):
        make_profile(external_id=f"p{i}")
    seen = []
    original = shards.audience_batches

    def spy(profiles, size=None, **kwargs):
        for batch in original(profiles, size=3, **kwargs):
            seen.append(len(batch))
            yield batch

    monkeypatch.setattr(shards, "audience_batches", spy)
    dispatch = send({"broadcast": True, "messages": {"email": EMAIL}})
    assert seen == [3, 3, 1]
    assert Delivery.objects.filter(dispatch=dispatch, status="delivered").count() == 7


def test_alias_recipients_are_resolved(send, make_profile):
    profile = make_profile(external_id=None, email="alias@example.test")
    UserAlias.objects.create(profile=profile, alias_label="crm", alias_name="c-9")
    send(
        {
            "user_aliases": [{"alias_label": "crm", "alias_name": "c-9"}],
            "messages": {"email": EMAIL},
        }
    )
    assert [m.to[0] for m in mail.outbox] == ["alias@example.test"]


def test_abort_message_skips_the_recipient(send, make_profile):
    make_profile(external_id="a", first_name="")
    make_profile(external_id="b", first_name="Bo")
    body = (
        "{% if ${first_name} == blank %}{% abort_message('no first name') %}{% endif %}"
        "Hi {{${first_name}}}"
    )
    send({"external_user_ids": ["a", "b"], "messages": {"email": {**EMAIL, "body": body}}})
    assert [m.to[0] for m in mail.outbox] == ["user2@example.test"]
    skipped = Delivery.objects.get(profile__external_id="a")
    assert (skipped.status, skipped.error) == ("skipped", "abort_message: no first name")
    # A `skipped` event with the reason (counted apart from failures in the results).
    event = EngagementEvent.objects.get(delivery=skipped)
    assert (event.kind, event.properties) == ("skipped", {"reason": "abort_message: no first name"})


def test_message_extras_go_to_the_delivery_and_its_events(send, make_profile):
    make_profile(external_id="a")
    body = "{% message_extras :key order :value 42 %}Hello"
    send({"external_user_ids": ["a"], "messages": {"email": {**EMAIL, "body": body}}})
    delivery = Delivery.objects.get()
    assert delivery.message_extras == {"order": "42"}
    assert EngagementEvent.objects.get(delivery=delivery, kind="sent").properties[
        "message_extras"
    ] == {"order": "42"}


def test_transient_failures_retry_then_deliver_once(send, make_profile, monkeypatch):
    make_profile(external_id="a")
    answers = [Outcome(Result.RETRY, "451 try later"), Outcome(Result.DELIVERED, "250 ok")]

    class Flaky:
        name = "flaky"

        def send_batch(self, items, deadline=None):
            return [answers.pop(0) for _ in items]

    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Flaky())
    dispatch = send({"external_user_ids": ["a"], "messages": {"email": EMAIL}})
    delivery = Delivery.objects.get(dispatch=dispatch)
    assert (delivery.status, delivery.attempts, delivery.provider_response) == (
        "delivered",
        2,
        "250 ok",
    )
    assert EngagementEvent.objects.filter(kind="sent").count() == 1


def test_persistent_temporary_failures_become_a_soft_bounce(send, make_profile, monkeypatch):
    make_profile(external_id="a")

    class Down:
        name = "down"

        def send_batch(self, items, deadline=None):
            return [Outcome(Result.RETRY, "421 busy")] * len(items)

    monkeypatch.setattr(routing, "adapter_for", lambda channel, items: Down())
    dispatch = send({"external_user_ids": ["a"], "messages": {"email": EMAIL}})
    dispatch.refresh_from_db()
    delivery = Delivery.objects.get(dispatch=dispatch)
    assert delivery.status == "bounced"
    assert delivery.attempts == 7  # the first try and six retries
    assert EngagementEvent.objects.filter(kind="bounce_soft").count() == 1
    assert dispatch.status == Dispatch.Status.DONE and dispatch.failed_count == 1


def test_push_and_sms_go_to_the_sandbox(send, make_profile):
    profile = make_profile(external_id="a", phone="+15550001")
    PushToken.objects.create(profile=profile, app_id="ios-app", token="tok-1")
    send(
        {
            "external_user_ids": ["a"],
            "messages": {
                "apple_push": {"alert": "Hi {{${first_name}}}"},
                "sms": {
                    "app_id": "a",
                    "subscription_group_id": "g",
                    "body": "Hi {{${first_name}}}",
                },
            },
        }
    )
    rows = {d.channel: d for d in Delivery.objects.all()}
    assert rows["apple_push"].provider == rows["sms"].provider == "sandbox"
    assert rows["apple_push"].address == "tok-1" and rows["sms"].address == "+15550001"
    assert rows["sms"].rendered["body"] == "Hi Name1"
    assert rows["apple_push"].status == "delivered"


def test_sweeper_reenqueues_dispatches_left_queued(send, make_profile, monkeypatch):
    make_profile(external_id="a")
    monkeypatch.setattr(
        "messaging.services.dispatch._enqueue", lambda pk: None
    )  # the broker lost it
    dispatch = send({"external_user_ids": ["a"], "messages": {"email": EMAIL}})
    assert dispatch.status == Dispatch.Status.QUEUED
    assert dispatch_sweep_task.apply().get() == 0  # too recent to be stranded
    Dispatch.objects.filter(pk=dispatch.pk).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    assert dispatch_sweep_task.apply().get() == 1
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.DONE
    assert len(mail.outbox) == 1


def test_the_request_answers_before_any_delivery_work(api, make_profile, monkeypatch):
    """Without the commit hook running, nothing was delivered: the view only wrote the dispatch."""
    make_profile(external_id="a")
    response = api.post(
        "/messages/send", {"external_user_ids": ["a"], "messages": {"email": EMAIL}}
    )
    assert response.status_code == 201
    assert not Delivery.objects.exists() and not mail.outbox


def test_a_send_while_the_broker_is_down_is_accepted_and_left_for_the_sweeper(
    api, make_profile, django_capture_on_commit_callbacks, caplog
):
    make_profile(external_id="a")
    saved = (app.conf.broker_url, app.conf.task_always_eager, app._pool)
    app.conf.broker_url, app.conf.task_always_eager, app._pool = (
        "redis://127.0.0.1:1/0",
        False,
        None,
    )
    app.amqp._producer_pool = None  # publish through a pool for the unreachable broker
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/messages/send", {"external_user_ids": ["a"], "messages": {"email": EMAIL}}
            )
    finally:
        app.conf.broker_url, app.conf.task_always_eager, app._pool = saved
        app.amqp._producer_pool = None
    assert response.status_code == 201
    assert "broker unreachable" in caplog.text
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    assert dispatch.status == Dispatch.Status.QUEUED
    assert sweeper.dispatches_stranded(older_than=timedelta(0)) == [dispatch.pk]


def test_segment_sends_reach_only_its_members(send, make_profile):
    members = [make_profile(external_id=f"m{i}") for i in range(2)]
    make_profile(external_id="outsider")
    segment = Segment.objects.create(name="Openers")
    SegmentMember.objects.bulk_create(SegmentMember(segment=segment, profile=p) for p in members)

    send({"broadcast": True, "segment_id": segment.segment_id, "messages": {"email": EMAIL}})
    assert sorted(m.to[0] for m in mail.outbox) == ["user1@example.test", "user2@example.test"]

    # With listed users too, only those in both are messaged (spec §3.1).
    mail.outbox.clear()
    send(
        {
            "external_user_ids": ["m0", "outsider"],
            "segment_id": segment.segment_id,
            "messages": {"email": EMAIL},
        }
    )
    assert [m.to[0] for m in mail.outbox] == ["user1@example.test"]


def test_beat_schedule_runs_the_sweeper_every_minute():
    entry = app.conf.beat_schedule["dispatch-sweep"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == 60.0
