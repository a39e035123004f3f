"""Idempotency-Key on POST /messages/send: one dispatch per key and body, 24 hours, per API key."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Dispatch, IdempotencyRecord

SMS = {"app_id": "a", "subscription_group_id": "g", "body": "Shipped"}


def payload(body="Shipped"):
    return {"external_user_ids": ["user-1"], "messages": {"sms": {**SMS, "body": body}}}


@pytest.mark.django_db
def test_same_key_twice_gives_the_original_answer_and_one_dispatch(api, make_profile):
    make_profile(phone="+15550001")
    headers = {"Idempotency-Key": "order-42"}
    first = api.post("/messages/send", payload(), headers=headers)
    second = api.post("/messages/send", payload(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Dispatch.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_422(api):
    headers = {"Idempotency-Key": "order-42"}
    assert api.post("/messages/send", payload(), headers=headers).status_code == 201
    response = api.post("/messages/send", payload("Other"), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["errors"][0]
    assert Dispatch.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_to_the_api_key(api, make_api_key):
    _, other_key = make_api_key(name="other")
    headers = {"Idempotency-Key": "same"}
    a = api.post("/messages/send", payload(), headers=headers)
    b = api.post("/messages/send", payload(), headers=headers, key=other_key)
    assert a.json()["dispatch_id"] != b.json()["dispatch_id"]
    assert Dispatch.objects.count() == 2


@pytest.mark.django_db
def test_a_key_expires_after_24_hours(api):
    headers = {"Idempotency-Key": "old"}
    first = api.post("/messages/send", payload(), headers=headers)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    second = api.post("/messages/send", payload("Other body"), headers=headers)
    assert second.status_code == 201
    assert second.json()["dispatch_id"] != first.json()["dispatch_id"]
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_the_sweeper_forgets_answers_older_than_24_hours(api):
    from messaging.tasks import dispatch_sweep_task

    api.post("/messages/send", payload(), headers={"Idempotency-Key": "old"})
    api.post("/messages/send", payload(), headers={"Idempotency-Key": "new"})
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    dispatch_sweep_task.apply()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_a_refused_request_is_not_remembered(api):
    headers = {"Idempotency-Key": "k"}
    bad = api.post("/messages/send", {"messages": {"sms": SMS}}, headers=headers)
    assert bad.status_code == 400
    assert api.post("/messages/send", payload(), headers=headers).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_one_dispatch(api_key, live_server):
    """Two threads race with the same key against a real server: one dispatch, same answer."""
    import httpx
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL")
    barrier = threading.Barrier(4)
    answers = []

    def send():
        barrier.wait()
        answers.append(
            httpx.post(
                f"{live_server.url}/messages/send",
                json=payload(),
                timeout=30,
                headers={"Authorization": f"Bearer {api_key[1]}", "Idempotency-Key": "race"},
            )
        )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["dispatch_id"] for a in answers}) == 1
    assert Dispatch.objects.count() == 1
