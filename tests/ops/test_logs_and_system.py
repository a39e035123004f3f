"""JSON logs with the delivery's IDs, and Settings › System."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from aiosmtpd.controller import Controller

from config.logs import AddContext, JsonFormatter, log_context
from messaging import ops
from messaging.models import Delivery, Dispatch, Profile

pytestmark = pytest.mark.django_db


class _Refuse:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 no such mailbox"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(AddContext())
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines():
    handler = _Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(previous)


def test_log_context_puts_the_ids_on_every_line(json_lines):
    with log_context(dispatch_id="d123"):
        logging.getLogger("anything").info("planning")
        with log_context(message_id="m456"):
            logging.getLogger("other").warning("sending")
    logging.getLogger("anything").info("outside")
    assert json_lines[0]["dispatch_id"] == "d123" and "message_id" not in json_lines[0]
    assert (json_lines[1]["dispatch_id"], json_lines[1]["message_id"]) == ("d123", "m456")
    assert json_lines[1]["level"] == "WARNING" and json_lines[1]["logger"] == "other"
    assert "dispatch_id" not in json_lines[2]


def test_a_failed_delivery_logs_its_dispatch_and_message_id(
    api, json_lines, settings, django_capture_on_commit_callbacks
):
    # A real SMTP server that refuses the recipient for good: a bounce, whose log line
    # names the dispatch and the message.
    controller = Controller(_Refuse(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    Profile.objects.create(external_id="e1", email="e1@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/messages/send", {
            "external_user_ids": ["e1"],
            "messages": {"email": {"app_id": "a", "from": "A <a@acme.test>", "subject": "Hi",
                                   "body": "<p>Hi</p>"}},
        })
    controller.stop()
    assert response.status_code == 201
    delivery = Delivery.objects.get()
    assert delivery.status in {Delivery.Status.FAILED, Delivery.Status.BOUNCED}
    dispatch = Dispatch.objects.get()
    failed = [line for line in json_lines if line.get("message_id") == delivery.message_id]
    assert failed, json_lines
    assert failed[-1]["dispatch_id"] == dispatch.dispatch_id
    assert failed[-1]["message"].startswith("email ")


def test_system_page_shows_workers_queues_sweep_and_rate(client, admin_user, marketer):
    ops.worker_beat("celery@host-a", ["transactional", "bulk"])
    ops.sweep_mark()
    client.force_login(admin_user)
    response = client.get("/settings/system/")
    assert response.status_code == 200
    page = response.content.decode()
    # Tests run tasks in-process: no broker, so the page says so instead of a count.
    assert "tasks run in the web process" in page
    assert response.context["status"].workers[0].hostname == "celery@host-a"
    assert response.context["status"].last_sweep is not None
    # A time element, not markup spilled into an attribute.
    assert '<dd id="stat-sweep"><time' in page and '">a second ago' not in page
    ops.deliveries_count(3)
    # Staff only: a marketer is sent to log in as someone else.
    client.force_login(marketer)
    assert client.get("/settings/system/").status_code == 302


def test_log_format_json_is_what_the_console_writes(tmp_path):
    """LOG_FORMAT=json wired through settings.LOGGING, keys still redacted."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import logging, os, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'\n"
        "django.setup()\n"
        "from config.logs import log_context\n"
        "with log_context(dispatch_id='d1', message_id='m1'):\n"
        "    logging.getLogger('herald.test').warning('key %s', 'hrld_ABCDEFGsecretsecret')\n"
    )
    env = {**os.environ, "LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["logger"] == "herald.test" and line["level"] == "WARNING"
    assert (line["dispatch_id"], line["message_id"]) == ("d1", "m1")
    assert line["message"] == "key hrld_ABCDEFG…"
