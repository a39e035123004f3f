"""GET /metrics: who may read it, and figures that move when Herald works."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def _value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` of an exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _metrics(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def test_metrics_refuse_other_addresses_without_the_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is not in the list
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_are_open_to_loopback_by_default(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 403


def test_metrics_move_after_a_send(client, api, settings, django_capture_on_commit_callbacks):
    from messaging.models import Profile

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for i in range(3):
        Profile.objects.create(external_id=f"m{i}", email=f"m{i}@example.test")
    before = _metrics(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/messages/send", {
            "external_user_ids": ["m0", "m1", "m2"],
            "messages": {"email": {"app_id": "a", "from": "A <a@acme.test>", "subject": "Hi",
                                   "body": "<p>Hello</p>"}},
        })  # fmt: skip
    assert response.status_code == 201
    after = _metrics(client)

    sends = {"endpoint": "/messages/send", "method": "POST", "status": "201"}
    assert _value(after, "herald_http_requests_total", **sends) == (
        _value(before, "herald_http_requests_total", **sends) + 1
    )
    delivered = {"channel": "email", "outcome": "delivered", "provider": "smtp"}
    assert _value(after, "herald_deliveries_total", **delivered) == (
        _value(before, "herald_deliveries_total", **delivered) + 3
    )
    latency = {"provider": "smtp"}
    assert _value(after, "herald_provider_latency_seconds_count", **latency) > _value(
        before, "herald_provider_latency_seconds_count", **latency
    )
    assert "herald_rollup_lag_seconds 0.0" in after
    # The route, not the path: IDs in URLs make no new series.
    client.get("/messaging/dispatches/nope/")
    assert 'endpoint="/messaging/dispatches/<str:dispatch_id>/"' in _metrics(client)
