"""The email adapter's MIME writers against the standard library's generator: `as_bytes`
(a Django message, flattened faster) and `message_bytes` (written straight from the
composed parts, for SMTP)."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from django.core.mail import BadHeaderError

from messaging.channels import email as email_channel
from messaging.channels.base import Outgoing
from messaging.channels.email import as_bytes, build_message, message_bytes

BASE = {"from": "Acme <orders@acme.test>", "subject": "Hello", "body": "<p>Hi</p>"}


def _item(**payload):
    extra = payload.pop("_extra", {})
    return Outgoing(message_id="a" * 32, address="ada@example.test",
                    payload={**BASE, **payload}, extra_headers=extra)


def _message(**payload):
    return build_message(_item(**payload), message_id_domain="mail.acme.test")


def _direct(**payload) -> bytes:
    _, _, raw = message_bytes(_item(**payload), message_id_domain="mail.acme.test")
    return raw


def _standard(message) -> bytes:
    return message.message().as_bytes(linesep="\r\n")


def _standard_with_boundary(message, ours: bytes) -> bytes:
    """What the standard generator writes given the boundary ours chose."""
    mime = message.message()
    mime.set_boundary(re.search(rb'boundary="([^"]+)"', ours).group(1).decode())
    return mime.as_bytes(linesep="\r\n")


def _parsed(raw: bytes):
    message = email.message_from_bytes(raw, policy=policy.default)
    # (Values stripped: the generator folds a long header before its first word.)
    headers = sorted(
        (k, str(v).strip()) for k, v in message.items() if k not in ("Date", "Content-Type")
    )
    bodies = [part.get_content() for part in message.walk() if not part.is_multipart()]
    return headers, bodies, message.get_content_type()


PAYLOADS = [
        {},
        {"body": "<p>Ünïcødé body — 8 bits</p>", "plaintext_body": "Ünïcødé"},
        {"body": "<p>" + "long line " * 200 + "</p>"},  # quoted-printable
        {"body": "line one\r\nline two\rline three\n"},
        {"subject": "Ça va ? Un sujet accentué"},  # an encoded word: the generator's path
        {"subject": "word " * 30},  # longer than 78: one line of ours, folded by theirs
        {"reply_to": "help@acme.test", "headers": {"X-Campaign": "spring  sale"}},
        {"amp_body": "<html amp4email><body>amp</body></html>"},
        {"_extra": {"List-Unsubscribe": "<https://herald.example.test/t/u/" + "x" * 120 + ">"}},
        {"headers": {"From": "Other <other@acme.test>"}},  # overrides the From header
        {"preheader": "Your order", "extras": {"k": "v"}, "plaintext_body": ""},
        {"from": "Açme <orders@acme.test>"},  # an encoded display name
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_fast_serializer_writes_what_the_standard_generator_means(payload):
    message = _message(**payload)
    ours = as_bytes(message)
    theirs = _standard(message)
    assert _parsed(ours) == _parsed(theirs)
    assert all(len(line) <= 998 for line in ours.split(b"\r\n"))
    assert b"\n" not in ours.replace(b"\r\n", b"")  # CRLF only


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_direct_writer_writes_what_the_standard_generator_means(payload):
    ours = _direct(**dict(payload))
    theirs = _standard(_message(**dict(payload)))
    assert _parsed(ours) == _parsed(theirs)
    assert all(len(line) <= 998 for line in ours.split(b"\r\n"))
    assert b"\n" not in ours.replace(b"\r\n", b"")  # CRLF only


def test_the_direct_writer_takes_the_common_shape_itself(monkeypatch):
    def generator_path(*args, **kwargs):
        raise AssertionError("the common shape must not build a message object")

    monkeypatch.setattr(email_channel, "as_bytes", generator_path)
    raw = _direct(body="<p>Ünïcødé</p>", reply_to="help@acme.test",
                  _extra={"List-Unsubscribe": "<https://h.test/u>"})
    assert b"Content-Transfer-Encoding: 8bit" in raw
    sender, recipients, _ = message_bytes(_item(), message_id_domain="mail.acme.test")
    assert (sender, recipients) == ("Acme <orders@acme.test>", ["ada@example.test"])


def test_the_direct_writer_is_byte_for_byte_the_generators_but_the_date():
    ours = _direct(reply_to="help@acme.test", _extra={"X-Campaign": "spring"})
    theirs = _standard_with_boundary(_message(reply_to="help@acme.test",
                                              _extra={"X-Campaign": "spring"}), ours)
    date = re.compile(rb"Date: [^\r]+")
    assert date.sub(b"", ours) == date.sub(b"", theirs)


def test_a_newline_in_a_header_is_refused_as_django_refuses_it():
    with pytest.raises(BadHeaderError):
        _direct(headers={"X-Bad": "a\r\nBcc: victim@example.test"})
    with pytest.raises(BadHeaderError):
        _standard(_message(headers={"X-Bad": "a\r\nBcc: victim@example.test"}))


def test_short_ascii_headers_come_out_byte_for_byte_as_the_generators():
    message = _message()
    ours = as_bytes(message)
    theirs = _standard_with_boundary(message, ours)
    date = re.compile(rb"Date: [^\r]+")
    assert date.sub(b"", ours) == date.sub(b"", theirs)


def test_a_boundary_found_in_the_text_falls_back_to_the_generator(monkeypatch):
    import secrets as secrets_module  # noqa: PLC0415 — to pin the token in this test only

    monkeypatch.setattr(secrets_module, "token_hex", lambda n: "0" * 16)
    message = _message(body="<p>herald-0000000000000000</p>")
    raw = as_bytes(message)
    assert b'boundary="herald-0000000000000000"' not in raw
    assert _parsed(raw) == _parsed(_standard(message))


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.test",
        "a.b+c@x-y.example.co",
        "Ada <ada@example.test>",
        "ada@exämple.test",
        "ada@localhost",
        '"a b"@x.test',
    ],
)
def test_recipients_are_sanitized_as_django_does(address):
    from django.core.mail.message import sanitize_address  # noqa: PLC0415 — the reference

    from messaging.channels.email import _recipient  # noqa: PLC0415 — private helper

    assert _recipient(address, "utf-8") == sanitize_address(address, "utf-8")
