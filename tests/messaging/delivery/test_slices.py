"""A shard given a time slice: it stops after the first chunk past it, and continuations
deliver the rest of its range, each row once."""

from __future__ import annotations

import pytest
from django.core import mail

from messaging.delivery import paging
from messaging.delivery.shards import dispatch_plan, shard_run
from messaging.models import Delivery, Dispatch, DispatchShard

pytestmark = pytest.mark.django_db

EMAIL = {"app_id": "a", "from": "Acme <orders@acme.test>", "subject": "Hi", "body": "<p>Hi</p>"}


@pytest.fixture
def accepted(api, make_profile, monkeypatch, settings, django_capture_on_commit_callbacks):
    """A dispatch to 7 profiles, planned as one shard, nothing sent yet; chunks of 2 rows
    and pages of 3 profiles, so slices end mid-page and at a page's end."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DELIVERY_CHUNK_SIZE = 2
    monkeypatch.setattr(paging, "BATCH_SIZE", 3)
    ids = [f"u{n}" for n in range(7)]
    for n, external_id in enumerate(ids):
        make_profile(external_id=external_id, email=f"user{n}@example.test")
    monkeypatch.setattr("messaging.services.dispatch._enqueue", lambda pk: None)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send", {"external_user_ids": ids, "messages": {"email": EMAIL}}
        )
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    (shard_pk,) = dispatch_plan(dispatch_pk=dispatch.pk).shard_pks
    return dispatch, shard_pk


def test_continuations_deliver_the_rest_of_the_shard_once(accepted):
    dispatch, shard_pk = accepted
    results, after = [], 0
    while len(results) < 20:
        result = shard_run(shard_pk=shard_pk, after=after, slice_seconds=0)
        results.append(result)
        if not result.more:
            break
        # Between slices the shard waits for its continuation's task, as pending.
        assert DispatchShard.objects.get(pk=shard_pk).status == DispatchShard.Status.PENDING
        assert result.after >= after
        after = result.after
    assert results[-1].done and all(r.more for r in results[:-1])
    # A slice of 0 s still sends the chunk in flight and the one prepared meanwhile.
    assert len(results) >= 3

    assert sorted(m.to[0] for m in mail.outbox) == [f"user{n}@example.test" for n in range(7)]
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.delivered_count) == (Dispatch.Status.DONE, 7)
    assert DispatchShard.objects.get(pk=shard_pk).status == DispatchShard.Status.DONE


def test_without_a_slice_the_shard_runs_to_its_end(accepted):
    dispatch, shard_pk = accepted
    result = shard_run(shard_pk=shard_pk)
    assert (result.done, result.more) == (True, False)
    assert len(mail.outbox) == 7


def test_a_continuation_of_a_shard_taken_meanwhile_does_nothing(accepted):
    dispatch, shard_pk = accepted
    first = shard_run(shard_pk=shard_pk, slice_seconds=0)
    assert first.more
    sent = len(mail.outbox)
    # Another run (a duplicate message, a rescue) took the shard in between.
    DispatchShard.objects.filter(pk=shard_pk).update(status=DispatchShard.Status.RUNNING)
    late = shard_run(shard_pk=shard_pk, after=first.after, slice_seconds=0)
    assert (late.ran, late.more) == (False, False)
    assert len(mail.outbox) == sent
