"""A pytest plugin that records every JSON error answer the suite provokes.

Used to prove that a refactor kept the API's behaviour: record before moving code, record
after, and compare the two (tests may have moved to other files meanwhile, so the
comparison names a test by its function, not its path):

    HERALD_ERROR_SNAPSHOT=after.jsonl .venv/bin/python -m pytest -p scripts.error_snapshot
    .venv/bin/python scripts/error_snapshot.py tests/snapshots/errors-before-house.jsonl after.jsonl

Each line is one answer of status 400 or more given to Django's test client: the test,
the method, path, status and body. Values that differ from run to run (keys, random IDs)
are replaced by placeholders so that two runs of unchanged code give the same file.
"""

from __future__ import annotations

import json
import os
import re

import pytest

_OUT = os.environ.get("HERALD_ERROR_SNAPSHOT")
_RANDOM = [
    (re.compile(r"(/t/[ocu]/)[^\s\"]+"), r"\1<signed token>"),
    (re.compile(r"hrld_[A-Za-z0-9_\-]+"), "hrld_<key>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{24,32}\b"), "<hex>"),
    (re.compile(r"\b1[0-9]{9}\b"), "<epoch>"),
]
_records: list[dict] = []
_current = {"test": ""}


def _normalize(text: str) -> str:
    for pattern, placeholder in _RANDOM:
        text = pattern.sub(placeholder, text)
    return text


def _answers(path: str) -> set[str]:
    answers = set()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            record["test"] = record["test"].split("::", 1)[-1]
            answers.add(json.dumps(record, sort_keys=True, ensure_ascii=False))
    return answers


def compare(before: str, after: str) -> int:
    """Print the answers only one side has (- before, + after); 1 if there are any."""
    old, new = _answers(before), _answers(after)
    for line in sorted(old - new):
        print("-", line)
    for line in sorted(new - old):
        print("+", line)
    print(f"{len(old)} answers before, {len(new)} after, {len(old ^ new)} different")
    return 1 if old ^ new else 0


def pytest_configure(config: pytest.Config) -> None:
    if not _OUT:
        return
    from django.test import client

    original = client.Client.request

    def request(self, **environ):  # type: ignore[no-untyped-def]
        response = original(self, **environ)
        fuzzing = "fuzz" in _current["test"]  # Hypothesis draws new bodies every run
        if (response.status_code >= 400 and not fuzzing
                and "json" in response.get("Content-Type", "")):
            _records.append({
                "test": _current["test"],
                "method": environ.get("REQUEST_METHOD", ""),
                "path": _normalize(environ.get("PATH_INFO", "")),
                "status": response.status_code,
                "body": _normalize(response.content.decode("utf-8", "replace")),
            })
        return response

    client.Client.request = request


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _current["test"] = item.nodeid


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _OUT:
        return
    lines = sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in _records)
    with open(_OUT, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    import sys

    sys.exit(compare(sys.argv[1], sys.argv[2]))
