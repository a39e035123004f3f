"""/health/live and /health/ready, against real services and real closed ports.

The outage cases run in a child process whose settings point the database or the cache
at a port nothing listens on, as a web process configured that way would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
out = {}
for path in ("/health/live", "/health/ready"):
    response = client.get(path)
    out[path] = [response.status_code, json.loads(response.content)]
print(json.dumps(out))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is


def _probe(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    environ.update(env)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db
def test_ready_answers_200_when_database_and_cache_answer(client):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database:default"]["ok"] and body["checks"]["cache:default"]["ok"]
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_ready_answers_503_when_postgresql_is_down(tmp_path):
    port = _closed_port()
    answers = _probe(DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/herald")
    assert answers["/health/live"][0] == 200  # the process itself is fine
    status, body = answers["/health/ready"]
    assert status == 503
    assert body["checks"]["database:default"] == {
        "ok": False, "error": "OperationalError", "ms": body["checks"]["database:default"]["ms"]
    }
    assert body["checks"]["cache:default"]["ok"]


def test_ready_answers_503_when_redis_is_down(tmp_path):
    port = _closed_port()
    answers = _probe(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                     REDIS_URL=f"redis://127.0.0.1:{port}/0")  # fmt: skip
    assert answers["/health/live"][0] == 200
    status, body = answers["/health/ready"]
    assert status == 503
    assert body["checks"]["cache:default"]["ok"] is False
    assert body["checks"]["database:default"]["ok"]
    # A dead Redis costs at most its socket timeouts, not a hung load balancer check.
    assert body["checks"]["cache:default"]["ms"] < 2000
