"""Retry-After parsing and the credential mask."""

from __future__ import annotations

import email.utils
import time

import pytest

from messaging.channels.http import parse_retry_after
from messaging.crypto import mask


def test_retry_after_in_seconds_and_as_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert parse_retry_after(in_a_minute) == pytest.approx(60, abs=2)
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after(past) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-", "Thu, 99 Foo 2020"])
def test_unreadable_retry_after_is_ignored(value):
    assert parse_retry_after(value) is None


def test_mask_shows_at_most_the_last_four_characters():
    assert mask("twilio-auth-token-0001") == "••••0001"
    assert mask("short") == "••••"
    pem = (
        "-----BEGIN PRIVATE KEY-----\n"
        "MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQgABCD\n"
        "-----END PRIVATE KEY-----"
    )
    assert mask(pem) == "••••ABCD"
