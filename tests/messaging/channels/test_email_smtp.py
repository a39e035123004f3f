"""The email adapter against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import asyncio
import email
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller

from analytics.models import EngagementEvent
from messaging.channels.base import Outgoing, Result
from messaging.channels.email import EmailAdapter, plaintext_from_html
from messaging.channels.limits import LocalSlots, RateLimiter
from messaging.models import Delivery, Dispatch


class Inbox:
    """An SMTP handler: refuses some recipients, keeps the rest of the mail it receives."""

    def __init__(self):
        self.messages = []
        self.peers = []  # the client's (address, port) of each message: its connection
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("gone@"):
            return "550 5.1.1 No such user"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.peers.append(session.peer)
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


def _item(address, **payload):
    base = {"from": "Acme <orders@acme.test>", "subject": "Hello", "body": "<p>Hi</p>"}
    return Outgoing(message_id="m" * 32, address=address, payload={**base, **payload})


def test_adapter_sends_every_field_over_smtp(smtp):
    (outcome,) = EmailAdapter().send_batch(
        [
            _item(
                "ada@example.test",
                reply_to="help@acme.test",
                preheader="Your parcel is near",
                body="<html><body><p>Hi Ada</p></body></html>",
                headers={"X-Campaign": "spring"},
                extras={"order": "42"},
            )
        ]
    )
    assert outcome.result == Result.DELIVERED
    rcpts, message = smtp.messages[0]
    assert rcpts == ["ada@example.test"]
    assert message["From"] == "Acme <orders@acme.test>"
    assert message["Reply-To"] == "help@acme.test"
    assert message["X-Campaign"] == "spring"
    assert message["X-Herald-Message-Id"] == "m" * 32
    assert message["X-Herald-Extras"] == '{"order":"42"}'
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "display:none" in html and "Your parcel is near" in html
    assert html.index("Your parcel is near") < html.index("Hi Ada")
    assert text.strip() == "Hi Ada"


def test_the_callers_tracked_html_and_headers_are_what_goes_out(smtp):
    item = _item("ada@example.test", preheader="Soon", body="<body><p>Hi</p></body>")
    item.html = '<body><p>Hi <a href="https://t.example/c/1">x</a></p><img src="o"></body>'
    item.extra_headers = {"List-Unsubscribe": "<https://t.example/u/1>"}
    (outcome,) = EmailAdapter().send_batch([item])
    assert outcome.result == Result.DELIVERED
    _, message = smtp.messages[0]
    html = message.get_body(("html",)).get_content()
    assert 'href="https://t.example/c/1"' in html and '<img src="o">' in html
    assert html.index("Soon") < html.index("Hi")  # the preheader still leads
    assert message["List-Unsubscribe"] == "<https://t.example/u/1>"
    assert message.get_body(("plain",)).get_content().strip() == "Hi"


def test_no_reply_to_and_explicit_plaintext(smtp):
    EmailAdapter().send_batch(
        [_item("a@example.test", reply_to="NO_REPLY_TO", plaintext_body="Plain words")]
    )
    _, message = smtp.messages[0]
    assert message["Reply-To"] is None
    assert message.get_body(("plain",)).get_content().strip() == "Plain words"


def test_permanent_refusal_is_a_bounce_and_temporary_is_a_retry(smtp):
    outcomes = EmailAdapter().send_batch(
        [_item("gone@example.test"), _item("full@example.test"), _item("ok@example.test")]
    )
    assert [o.result for o in outcomes] == [Result.BOUNCED, Result.RETRY, Result.DELIVERED]
    assert outcomes[0].provider_response.startswith("550")
    assert outcomes[1].provider_response.startswith("452")
    assert [r for r, _ in smtp.messages] == [["ok@example.test"]]


def test_a_rendered_header_injection_fails_without_retry(smtp):
    outcomes = EmailAdapter().send_batch(
        [_item("a@example.test", subject="Hi\nBcc: victim@example.test"), _item("b@example.test")]
    )
    assert [o.result for o in outcomes] == [Result.FAILED, Result.DELIVERED]
    assert [r for r, _ in smtp.messages] == [["b@example.test"]]


def test_unreachable_server_is_a_retry(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    (outcome,) = EmailAdapter().send_batch([_item("a@example.test")])
    assert outcome.result == Result.RETRY


def test_plaintext_is_derived_from_html():
    assert (
        plaintext_from_html("<h1>Title</h1><p>One &amp; two</p><p>Three<br>Four</p>")
        == "Title\nOne & two\nThree\nFour"
    )


@pytest.mark.django_db
def test_personalized_send_through_the_api_arrives_at_the_smtp_server(
    smtp, api, make_profile, campaign, variation, django_capture_on_commit_callbacks
):
    make_profile(
        external_id="ada",
        first_name="Ada",
        email="ada@example.test",
        custom_attributes={"last order": "A-42"},
    )
    make_profile(external_id="gone", first_name="Gone", email="gone@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send",
            {
                "campaign_id": campaign.campaign_id,
                "external_user_ids": ["ada", "gone"],
                "messages": {
                    "email": {
                        "app_id": "any",
                        "message_variation_id": variation("email"),
                        "from": "Acme <orders@acme.test>",
                        "subject": "Order {{custom_attribute.${last order}}} shipped",
                        "body": "<p>Hi {{${first_name} | default: 'there'}}, "
                        "dispatch {{campaign.${dispatch_id}}}</p>",
                    }
                },
            },
        )
    assert response.status_code == 201
    dispatch_id = response.json()["dispatch_id"]
    assert len(smtp.messages) == 1
    _, message = smtp.messages[0]
    assert message["Subject"] == "Order A-42 shipped"
    html = message.get_body(("html",)).get_content()
    assert f"Hi Ada, dispatch {dispatch_id}" in html
    # Tracking was prepared by the delivery code: open pixel, unsubscribe link and header.
    assert "/t/o/" in html and "/t/u/" in html
    assert "/t/u/" in message["List-Unsubscribe"]
    bounced = Delivery.objects.get(profile__external_id="gone")
    assert bounced.status == "bounced" and bounced.provider == "smtp"
    assert EngagementEvent.objects.filter(delivery=bounced, kind="bounce_hard").exists()
    dispatch = Dispatch.objects.get(dispatch_id=dispatch_id)
    assert (dispatch.delivered_count, dispatch.failed_count) == (1, 1)


# --- Pool, deadline, message ID, rate limit ---------------------------------------------


def test_a_batch_goes_out_over_a_small_pool_reused_between_batches(smtp):
    adapter = EmailAdapter(pool_size=3)
    try:
        first = adapter.send_batch([_item(f"u{n}@example.test") for n in range(12)])
        second = adapter.send_batch([_item(f"v{n}@example.test") for n in range(6)])
    finally:
        adapter.close()
    assert [o.result for o in first + second] == [Result.DELIVERED] * 18
    assert len(smtp.messages) == 18
    # Three connections at most, and the second batch opened none of its own.
    assert len(set(smtp.peers)) <= 3
    assert set(smtp.peers[12:]) <= set(smtp.peers[:12])


def test_the_message_id_is_stable_across_resends(smtp):
    adapter = EmailAdapter(message_id_domain="mail.acme.test")
    item = _item("ada@example.test", headers={"Message-ID": "<theirs@x>"})
    try:
        adapter.send_batch([item])
        adapter.send_batch([item])  # resent after a crash: same row, same ID
    finally:
        adapter.close()
    ids = [message["Message-ID"] for _, message in smtp.messages]
    assert ids == [f"<{'m' * 32}@mail.acme.test>"] * 2


def test_unreachable_server_retries_everything_as_not_attempted(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    adapter = EmailAdapter(pool_size=2)
    outcomes = adapter.send_batch([_item(f"a{n}@example.test") for n in range(10)])
    adapter.close()
    assert [(o.result, o.attempted) for o in outcomes] == [(Result.RETRY, False)] * 10


def test_messages_not_started_by_the_deadline_are_not_attempted(smtp):
    smtp.delay = 0.3
    adapter = EmailAdapter(pool_size=2)
    try:
        outcomes = adapter.send_batch(
            [_item(f"u{n}@example.test") for n in range(6)], deadline=time.monotonic() + 0.1
        )
    finally:
        adapter.close()
    assert [(o.result, o.attempted) for o in outcomes[:2]] == [(Result.DELIVERED, True)] * 2
    assert [(o.result, o.attempted) for o in outcomes[2:]] == [(Result.RETRY, False)] * 4
    assert len(smtp.messages) == 2


def test_a_relay_rate_limit_spreads_the_messages(smtp):
    rate = 5
    adapter = EmailAdapter(pool_size=4, limiter=RateLimiter(rate, "smtp:test", LocalSlots()))
    started = time.monotonic()
    try:
        outcomes = adapter.send_batch([_item(f"u{n}@example.test") for n in range(3 * rate)])
    finally:
        adapter.close()
    assert [o.result for o in outcomes] == [Result.DELIVERED] * (3 * rate)
    assert time.monotonic() - started >= 2.0
