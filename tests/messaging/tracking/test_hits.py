"""The raw write of an open or click on PostgreSQL: one statement, its own commit."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from analytics.models import TrackingHit
from messaging.services.tracking import hit_record
from tests.conftest import missing

MESSAGE_ID = "m" * 32


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        missing("the raw hit path is PostgreSQL's (set DATABASE_URL)")
    connection.ensure_connection()


def test_a_hit_leaves_the_connection_committing_durably(postgres):
    hit_record(kind="open", message_id=MESSAGE_ID, user_agent="ua")
    assert TrackingHit.objects.filter(message_id=MESSAGE_ID, kind="open").count() == 1
    # The flush is skipped for the hit's own transaction only: every later write of
    # this process (a send's 201, a profile update) still waits for it.
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_a_hit_on_a_connection_postgresql_dropped_is_recorded_once(postgres):
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"], autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    hit_record(kind="click", message_id=MESSAGE_ID, user_agent="ua", url="https://a.test/")
    assert TrackingHit.objects.filter(message_id=MESSAGE_ID, kind="click").count() == 1
    assert connection.connection.info.backend_pid != pid  # a new connection took it


def test_hits_are_stored_with_their_types_through_the_prepared_statement(postgres):
    # psycopg prepares a statement after a few runs: enough hits to go past that, with
    # and without a link index (a NULL must still reach the integer column).
    for n in range(8):
        hit_record(kind="click", message_id=MESSAGE_ID, user_agent=f"ua{n}",
                   url="https://a.test/", link_index=n if n % 2 else None)
    hits = TrackingHit.objects.filter(message_id=MESSAGE_ID).order_by("pk")
    assert [h.link_index for h in hits] == [None, 1, None, 3, None, 5, None, 7]
    assert [h.user_agent for h in hits] == [f"ua{n}" for n in range(8)]
    assert all(h.occurred_at.tzinfo is not None for h in hits)
