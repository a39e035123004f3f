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


def test_metrics_add_up_across_gunicorn_workers(tmp_path):
    """Several gunicorn worker processes answer; /metrics (from any) counts them all."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         # Each worker is replaced after 15 requests: the 40 below are answered by at
         # least three processes, some of them gone by the time /metrics is read.
         "--workers", "2", "--max-requests", "15", "--log-level", "warning"],
        cwd=root, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # NOTE: not the endpoint counted below: a probe that reached the socket
                # before a worker booted may be answered (and counted) after `before`.
                if httpx.get(f"{base}/health/ready", timeout=5).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        def scrape() -> tuple[str, float]:
            text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
            return text, _value(text, "herald_http_requests_total", endpoint="/health/live",
                                method="GET", status="200")

        _, before = scrape()
        # New connections each time, so that both workers answer some of them.
        for _ in range(40):
            assert httpx.get(f"{base}/health/live", headers={"Connection": "close"}).is_success
        counts = []
        for _ in range(4):
            text, count = scrape()
            counts.append(count - before)
        # Every scrape, whichever worker serves it, sees all 40 answers. (The database
        # was never migrated: /metrics answers all the same, without the rollup lag.)
        assert counts == [40.0] * 4, counts
        assert "herald_rollup_lag_seconds" not in text
        assert len(list((tmp_path / "metrics").glob("counter_*.db"))) >= 3
    finally:
        server.terminate()
        server.wait(timeout=15)
