"""The fuzzing gate: schemathesis against every operation of the OpenAPI document.

The document is read from the running app (`/api/openapi.json`, through its WSGI handler,
in-process) and each operation is one test: schemathesis sends it the document's examples,
its coverage cases (each constraint at and past its bound, each required part missing) and
FUZZ_EXAMPLES generated requests, valid and invalid, with a key holding every permission.
A test fails on:

- any 5xx (`not_a_server_error`);
- a status the operation does not document, a body or a header that is not what the
  document says for that status (`status_code_conformance`, `content_type_conformance`,
  `response_schema_conformance`, `response_headers_conformance`);
- a request the document calls invalid that is accepted (`negative_data_rejection`);
- a method the path does not have that is not answered 405 (`unsupported_method`), a
  request without its key or with a wrong one that is not refused (`ignored_auth`,
  `missing_required_header`).

Not checked here: that every request the document calls valid is accepted
(`positive_data_acceptance`). The document describes the shape of a request, and a
well-shaped request may still name a campaign that does not exist: that is a 400 with
Braze's text, as documented, not a contract broken.

Bounded and repeatable: FUZZ_EXAMPLES per operation, a fixed seed, Hypothesis derandomized
and without its example database, so CI sends the same requests on every run (about 30 s
on SQLite and 1 minute on PostgreSQL, on 2 cores). It is part of the suite, so CI runs it
on PostgreSQL, which refuses more than SQLite does (a NUL, an offset beyond ±15:59). A
longer run with other seeds is `scripts/fuzz_api.py`, which sets HERALD_FUZZ_*:

    .venv/bin/python -m pytest -m fuzz
"""

from __future__ import annotations

import json
import os

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from schemathesis.core.failures import FailureGroup

from messaging.access.ratelimit import DEFAULT_LIMITS
from messaging.models import ApiKey, Permission

# CI's bound; scripts/fuzz_api.py sets others through the environment.
FUZZ_EXAMPLES = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "50"))
FUZZ_SEED = int(os.environ.get("HERALD_FUZZ_SEED", "11"))  # any fixed value is repeatable
# scripts/fuzz_api.py: a file that gets one JSON line per request sent, and per failure.
REPORT = os.environ.get("HERALD_FUZZ_REPORT")

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "missing_required_header",
    "ignored_auth",
)


def fuzz_config(*, examples: int, seed: int, key: str) -> schemathesis.Config:
    """The schemathesis configuration of the gate (and of scripts/fuzz_api.py).

    `key` is sent as the document's `bearerAuth`: schemathesis leaves it out, or sends
    another, where a case is about a missing or wrong key.
    """
    return schemathesis.Config.from_dict({
        "seed": seed,
        "auth": {"openapi": {"bearerAuth": {"bearer": key}}},
        "generation": {
            "max-examples": examples,
            "deterministic": True,
            "database": "none",
        },
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"stateful": {"enabled": False}},
    })


# The key's text is drawn here (no database needed); each test stores the key itself.
KEY, KEY_PREFIX, KEY_DIGEST = ApiKey.generate()
schema = schemathesis.openapi.from_wsgi(
    "/api/openapi.json", WSGIHandler(),
    config=fuzz_config(examples=FUZZ_EXAMPLES, seed=FUZZ_SEED, key=KEY),
)


@pytest.fixture
def fuzz_key(db, settings):
    """KEY with every permission, and rate limits no fuzz run reaches.

    NOTE: the requests go through Django's plain WSGI handler, whose request signals close
    a connection inside a transaction: that would close the test's own transaction (on
    PostgreSQL every later query fails). Django's test client unhooks them the same way.
    """
    settings.RATE_LIMITS = {scope: (10**9, 60) for scope in DEFAULT_LIMITS}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield ApiKey.objects.create(name="fuzz", prefix=KEY_PREFIX, digest=KEY_DIGEST,
                                permissions=list(Permission.values))
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.fuzz
@pytest.mark.django_db
@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_operation_answers_as_documented(case, fuzz_key):
    response = case.call()
    _report(operation=case.operation.label, status=response.status_code)
    try:
        case.validate_response(response)
    except FailureGroup as group:
        _report(operation=case.operation.label, status=response.status_code,
                failures=[f"{failure.code} {failure.title}" for failure in group.exceptions])
        raise


def _report(**line) -> None:
    if REPORT:
        with open(REPORT, "a") as report:
            report.write(json.dumps(line) + "\n")
