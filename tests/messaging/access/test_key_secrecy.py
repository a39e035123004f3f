"""No API key is ever written to a log (issue 11, part 3).

Every way of sending a key is exercised (the header, the bare header, the legacy body
field, the refused query string, a wrong secret behind a valid prefix, a revoked key) with
every logger captured at DEBUG, SQL included; then the access log gunicorn writes for the
same requests (gunicorn.conf.py) is checked, and the filter on Django's own console
handler. Only public prefixes may appear.
"""

from __future__ import annotations

import io
import json
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection

from config.redact import HERALD_KEY, RedactKeys, redact
from messaging.models.keys import KEY_PREFIX
from messaging.services.api_keys import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
TRACK = {"attributes": [{"external_id": "secrecy"}]}


def _every_way_of_sending(client, key: str, revoked: str) -> list[tuple[str, int]]:
    wrong = key[:-4] + ("zzzz" if not key.endswith("zzzz") else "yyyy")
    body = json.dumps(TRACK)
    json_type = "application/json"
    answers = []

    def post(path, data=body, **headers):
        response = client.post(path, data, content_type=json_type, headers=headers)
        answers.append((f"POST {path} {sorted(headers)}", response.status_code))

    def get(path, **headers):
        response = client.get(path, headers=headers)
        answers.append((f"GET {path}", response.status_code))

    post("/users/track", Authorization=f"Bearer {key}")
    post("/users/track", Authorization=key)  # the bare key
    post("/users/track", json.dumps({**TRACK, "api_key": key}))
    post("/users/track", Authorization=f"Bearer {wrong}")
    post("/users/track", json.dumps({**TRACK, "api_key": wrong}))
    post("/users/track", Authorization=f"Bearer {revoked}")
    post(f"/users/track?api_key={key}")
    post(f"/users/track?api_key={key}", Authorization=f"Bearer {key}")
    get(f"/email/unsubscribes?api_key={key}&end_date=2024-01-01")
    get(f"/campaigns/list?api_key={wrong}")
    get("/campaigns/list", Authorization=f"Bearer {wrong}")
    get("/campaigns/list", Authorization=f"Bearer {key}")
    post("/messages/send", json.dumps({"api_key": key, "broadcast": "nope"}))
    post("/users/track", "{not json", Authorization=f"Bearer {wrong}")
    get(f"/no/such/path?api_key={key}")
    return answers


@pytest.fixture
def keys():
    _, key = api_key_create(name="secrecy", permissions=["users.track", "campaigns.list",
                                                         "email.unsubscribe", "messages.send"])
    revoked_key, revoked = api_key_create(name="gone", permissions=["users.track"])
    api_key_revoke(api_key=revoked_key)
    return key, revoked


def _secrets(*keys: str) -> list[str]:
    """What must never be logged: each full key, and its secret part alone."""
    return [k for key in keys for k in (key, key[12:])]


def test_no_log_line_holds_a_key_whichever_way_it_was_sent(client, keys, caplog):
    key, revoked = keys
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.db.backends", "django.server", "herald",
                 "messaging", "config"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # every SQL statement, with its parameters
    try:
        answers = _every_way_of_sending(client, key, revoked)
    finally:
        connection.force_debug_cursor = False
    statuses = [status for _, status in answers]
    assert statuses.count(201) == 3 and statuses.count(401) >= 8, answers
    assert any("messaging_apikey" in r.getMessage() for r in caplog.records)  # SQL was seen
    # What a handler writes: the message and any traceback. (django.request also attaches
    # the request object, whose repr holds the URL; no configured handler renders it.)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for secret in _secrets(key, revoked):
        assert secret not in logged
    # A refusal names the key by its public prefix only, so that is all a 401 can show.
    response = client.get("/campaigns/list", headers={"Authorization": f"Bearer {key}x"})
    assert response.json()["message"] == f"Invalid API key: {key[:12]}…"


def _gunicorn_logger(tmp_path: Path, access_format: str):
    from gunicorn.config import Config

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = Config()
    cfg.set("logger_class", conf["logger_class"])
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    cfg.set("access_log_format", access_format)
    return cfg.logger_class(cfg), tmp_path / "access.log", tmp_path / "error.log"


def test_gunicorns_access_and_error_logs_hold_no_key(tmp_path, keys):
    key, revoked = keys
    default = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
    everything = default + ' %(q)s %(U)s "%({authorization}i)s" "%({referer}i)s"'
    logger, access, errors = _gunicorn_logger(tmp_path, everything)
    for uri, headers in [
        (f"/users/track?api_key={key}", [("AUTHORIZATION", f"Bearer {revoked}")]),
        (f"/email/unsubscribes?end_date=2024-01-01&API_KEY={key}", []),
        ("/campaigns/list", [("AUTHORIZATION", key), ("REFERER", f"https://x.test/?k={key}")]),
    ]:
        path, _, query = uri.partition("?")
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": uri, "PATH_INFO": path,
                   "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1",
                   "REMOTE_ADDR": "127.0.0.1", "HTTP_REFERER": dict(headers).get("REFERER", "-")}
        response = SimpleNamespace(status="401 Unauthorized", sent=10, headers=[])
        request = SimpleNamespace(headers=headers)
        logger.access(response, request, environ, timedelta(milliseconds=3))
        logger.error("Error handling request %s", uri)  # what gunicorn logs on a crash
    for handler in logger.access_log.handlers + logger.error_log.handlers:
        handler.flush()
    written = access.read_text() + errors.read_text()
    assert "/users/track?api_key=[redacted]" in written and key[:12] in written
    for secret in _secrets(key, revoked):
        assert secret not in written


def test_the_console_handler_redacts_what_any_logger_writes():
    # settings.LOGGING puts RedactKeys on the one handler (the dev server logs URLs there),
    # first, so that what any later filter or the JSON format sees is already redacted.
    assert settings.LOGGING["handlers"]["console"]["filters"][0] == "redact_keys"
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(RedactKeys())
    key = KEY_PREFIX + "A" * 43
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1,
                               '"%s" 401 42', (f"GET /campaigns/list?api_key={key} HTTP/1.1",),
                               None)
    handler.handle(record)
    assert key not in handler.stream.getvalue()
    assert "api_key=[redacted]" in handler.stream.getvalue()


@pytest.mark.parametrize("text, expected", [
    ("api_key=secret&x=1", "api_key=[redacted]&x=1"),
    ("Authorization: Bearer abc.def", "Authorization: Bearer [redacted]"),
    (f"{KEY_PREFIX}abcdefgSECRETSECRET", f"{KEY_PREFIX}abcdefg…"),
    ("nothing to hide", "nothing to hide"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_the_redaction_knows_the_key_format():
    _, key = api_key_create(name="format", permissions=["users.track"])
    assert key.startswith(KEY_PREFIX) and HERALD_KEY.pattern.startswith(f"({KEY_PREFIX}")
    assert redact(key) == key[:12] + "…"
