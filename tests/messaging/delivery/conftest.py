"""Fixtures of the delivery tests."""

from __future__ import annotations

import pytest

from messaging.models import Dispatch


@pytest.fixture
def send(api, django_capture_on_commit_callbacks):
    """send(payload) -> the Dispatch: POST /messages/send, delivered in-process (eager)."""

    def post(payload):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/messages/send", payload)
        assert response.status_code == 201, response.json()
        return Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])

    return post
