"""config.sql.insert_one: the INSERT of save(force_insert=True), built once per model."""

from __future__ import annotations

import pytest
from django.utils import timezone

from config import sql
from messaging.models import Dispatch

pytestmark = pytest.mark.django_db


def test_inserts_what_save_would_and_sets_the_primary_key():
    before = timezone.now()
    first = Dispatch(audience={"external_user_ids": ["ü-1"]}, messages={"sms": {"body": "hi"}})
    second = Dispatch(send_id="s-2")
    sql.insert_one(first)
    sql.insert_one(second)
    assert first.pk and second.pk and first.pk != second.pk
    assert not first._state.adding
    stored = Dispatch.objects.get(pk=first.pk)
    assert stored.dispatch_id == first.dispatch_id and len(stored.dispatch_id) == 32
    assert stored.audience == {"external_user_ids": ["ü-1"]}
    assert stored.messages == {"sms": {"body": "hi"}}
    assert stored.status == Dispatch.Status.QUEUED and stored.needs_enqueue is False
    assert before <= stored.created_at <= timezone.now()  # auto_now_add filled in
    assert Dispatch.objects.get(pk=second.pk).send_id == "s-2"
