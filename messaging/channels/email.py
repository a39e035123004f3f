"""Email through Django's email backend: real SMTP when EMAIL_HOST is set (spec §4.5).

A batch goes out over a small pool of reused connections, one per concurrent sender
thread (`pool_size`); connections stay open between batches and are checked with a NOOP
after sitting idle. SMTP answers decide the outcome: a permanent refusal (5xx) is a
bounce, a temporary one (4xx) or a lost connection is retried later. When a connection
cannot be opened, the items not yet started come back "retry, not attempted".

Message ID: every message carries `Message-ID: <message_id@domain>` (the domain given by
the caller: a configured one or the site's host), the same on a resend, so a receiving
system can drop a duplicate; a Message-ID header in the message object is replaced.

Tracking is the caller's: it signs the links and hands over the instrumented HTML and the
unsubscribe headers on each `Outgoing` (messaging.delivery.send), so this module knows
neither tokens nor URLs.
"""

from __future__ import annotations

import functools
import html
import json
import os
import queue
import re
import secrets
import smtplib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from email.message import Message
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import forbid_multi_line_headers, sanitize_address
from django.utils.html import strip_tags

from .base import Outcome, Outgoing, Result, not_started, past
from .limits import RateLimiter

_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/h[1-6]|/li|/tr)\s*/?>")
_BODY_OPEN = re.compile(r"(?i)<body[^>]*>")


def plaintext_from_html(markup: str) -> str:
    """A readable text part for an HTML body: line breaks where blocks end, no tags."""
    text = _BLOCK_END.sub(lambda m: m.group(0) + "\n", markup)
    text = html.unescape(strip_tags(text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def with_preheader(markup: str, preheader: str) -> str:
    """Put the preheader first in the body, hidden, so inboxes show it as the preview."""
    span = (
        '<span style="display:none!important;visibility:hidden;opacity:0;color:transparent;'
        'height:0;width:0;max-height:0;max-width:0;overflow:hidden;mso-hide:all">'
        f"{html.escape(preheader)}</span>"
    )
    match = _BODY_OPEN.search(markup)
    if match:
        return markup[: match.end()] + span + markup[match.end() :]
    return span + markup


def message_id_header(message_id: str, domain: str) -> str:
    """The Message-ID of a delivery: stable, so a resend carries the same one."""
    return f"<{message_id}@{domain}>"


@dataclass
class Composed:
    """What an email is made of, before any MIME: one place decides it for both writers
    (Django's message object for other backends, `message_bytes` for SMTP)."""

    subject: str
    text: str
    html: str
    amp: str | None
    from_email: str
    to: str
    reply_to: str | None
    headers: dict[str, str]


def compose(item: Outgoing, *, message_id_domain: str) -> Composed:
    payload = item.payload
    # The tracked HTML when the caller prepared it. The preheader goes in after tracking:
    # it holds no link, and tracking only appends before </body>, so the order is moot.
    body_html = item.html if item.html is not None else payload.get("body") or ""
    if payload.get("preheader"):
        body_html = with_preheader(body_html, payload["preheader"])
    text = payload.get("plaintext_body") or plaintext_from_html(payload.get("body") or "")
    headers = {
        name: value
        for name, value in {**(payload.get("headers") or {}), **item.extra_headers}.items()
        if name.lower() != "message-id"
    }
    headers["Message-ID"] = message_id_header(item.message_id, message_id_domain)
    headers["X-Herald-Message-Id"] = item.message_id
    if payload.get("extras"):
        # Braze passes extras to the provider as unique args; we carry them in one header.
        headers["X-Herald-Extras"] = json.dumps(payload["extras"], separators=(",", ":"))
    reply_to = payload.get("reply_to")
    return Composed(
        subject=payload.get("subject") or "",
        text=text,
        html=body_html,
        amp=payload.get("amp_body") or None,
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        to=item.address,
        reply_to=reply_to if reply_to and reply_to != "NO_REPLY_TO" else None,
        headers=headers,
    )


def build_message(  # type: ignore[no-untyped-def]
    item: Outgoing, connection=None, *, message_id_domain: str = "localhost"
) -> EmailMultiAlternatives:
    return _django_message(compose(item, message_id_domain=message_id_domain), connection)


def _django_message(composed: Composed, connection: Any = None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=composed.subject,
        body=composed.text,
        from_email=composed.from_email,
        to=[composed.to],
        reply_to=[composed.reply_to] if composed.reply_to else None,
        headers=composed.headers,
        connection=connection,
    )
    message.attach_alternative(composed.html, "text/html")
    if composed.amp:
        message.attach_alternative(composed.amp, "text/x-amp-html")
    return message


# A header the fast serializer writes as it is: printable ASCII words, single spaces.
_SIMPLE_HEADER = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")
_NEWLINES = re.compile(r"\r\n|\r|\n")
MAX_LINE = 998  # RFC 5322 §2.1.1; 78 is only a SHOULD


def _flat(message: Message) -> str | None:
    """The message as the standard generator writes it (CRLF), for the common shape only:
    headers of plain ASCII, each on one line of at most MAX_LINE (the generator would fold
    those over 78 characters: both are valid), text parts already transfer-encoded by
    Django, multiparts with a boundary set. None: anything else."""
    lines = []
    for name, value in message.raw_items():
        if (
            not isinstance(value, str)
            or len(name) + 2 + len(value) > MAX_LINE
            or not _SIMPLE_HEADER.match(value)
        ):
            return None
        lines.append(f"{name}: {value}\r\n")
    lines.append("\r\n")
    if message.is_multipart():
        boundary = message.get_boundary()
        parts = message.get_payload()
        if not boundary or message.preamble is not None or message.epilogue is not None:
            return None
        texts = []
        for part in parts if isinstance(parts, list) else []:
            text = _flat(part)
            if text is None:
                return None
            texts.append(text)
        lines.append(f"--{boundary}\r\n")
        lines.append(f"\r\n--{boundary}\r\n".join(texts))
        lines.append(f"\r\n--{boundary}--\r\n")
    else:
        payload = message._payload  # what the generator writes: transfer-encoded already
        if payload is not None:
            if not isinstance(payload, str):
                return None
            lines.append(_NEWLINES.sub("\r\n", payload))
    return "".join(lines)


def as_bytes(message: EmailMultiAlternatives) -> bytes:
    """The MIME bytes of a Django message, as `message.message().as_bytes()` gives them but
    several times faster in the common case (`_flat`): the standard generator spends most
    of its time refolding short ASCII headers and searching each body for the random
    boundary it made up. Ours is random too (64 bits) and checked against the text."""
    mime = message.message()
    parts = mime.get_payload() if mime.is_multipart() else None
    boundary = f"herald-{secrets.token_hex(8)}"
    if isinstance(parts, list):
        mime.set_boundary(boundary)
    text = _flat(mime)
    # The boundary must appear only where we put it: header, opening, between, closing.
    if text is None or (isinstance(parts, list) and text.count(boundary) != len(parts) + 2):
        return message.message().as_bytes(linesep="\r\n")  # a fresh copy, its own boundary
    # Django's text parts hold 8-bit UTF-8 as surrogate escapes, as the generator writes.
    return text.encode("ascii", "surrogateescape")


# Headers the direct writer sets itself: a message object naming any of them again goes
# the standard way (Django lets a `From` header override the sender, for one).
_OWN_HEADERS = frozenset({"content-type", "mime-version", "subject", "from", "to", "cc",
                          "reply-to", "date", "content-transfer-encoding"})


def _direct_bytes(composed: Composed, encoding: str) -> bytes | None:
    """The MIME bytes Django's message object and `as_bytes` would give for `composed`,
    written straight from it, for the common shape; None for anything else.

    Building the message object cost more than everything else an email takes to send
    but the SMTP exchange (~160 µs of ~290 here): it is written once, then read back by
    a generator. Same checks as Django: a newline in a header is a BadHeaderError, a
    non-ASCII header is encoded (those go the standard way), and a text with a line
    over 998 bytes (which Django sends quoted-printable) goes the standard way too.
    """
    if encoding.lower().replace("_", "-") != "utf-8":
        return None
    if any(name.lower() in _OWN_HEADERS for name in composed.headers):
        return None
    parts = [("html", composed.html)]
    if composed.text:
        parts.insert(0, ("plain", composed.text))
    if composed.amp:
        parts.append(("x-amp-html", composed.amp))
    boundary = f"herald-{secrets.token_hex(8)}"
    for _, content in parts:
        if boundary in content or any(
            len(line.encode(errors="surrogateescape")) > MAX_LINE for line in content.splitlines()
        ):
            return None
    headers = [
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        ("Subject", composed.subject),
        ("From", composed.from_email),
        ("To", composed.to),
    ]
    if composed.reply_to:
        headers.append(("Reply-To", composed.reply_to))
    headers.append(("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    headers.extend(composed.headers.items())
    lines = []
    for name, value in headers:
        name, value = forbid_multi_line_headers(name, value, encoding)
        if len(name) + 2 + len(value) > MAX_LINE or not _SIMPLE_HEADER.match(value):
            return None
        lines.append(f"{name}: {value}\r\n")
    lines.append(f"\r\n--{boundary}\r\n")
    lines.append(f"\r\n--{boundary}\r\n".join(
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
        f"Content-Transfer-Encoding: {'7bit' if content.isascii() else '8bit'}\r\n\r\n"
        + _NEWLINES.sub("\r\n", content)
        for subtype, content in parts
    ))
    lines.append(f"\r\n--{boundary}--\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


def message_bytes(item: Outgoing, *, message_id_domain: str) -> tuple[str, list[str], bytes]:
    """(envelope sender, recipients, MIME bytes) of one email for an SMTP connection."""
    composed = compose(item, message_id_domain=message_id_domain)
    encoding = settings.DEFAULT_CHARSET
    raw = _direct_bytes(composed, encoding)
    if raw is None:
        raw = as_bytes(_django_message(composed))
    return _sender(composed.from_email, encoding), [_recipient(composed.to, encoding)], raw


def _classify(exc: Exception) -> Outcome:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(exc.recipients.values()))
        return _by_code(code, answer)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error)
    return Outcome(Result.RETRY, f"connection: {exc.__class__.__name__}: {exc}")


def _by_code(code: int, answer: bytes | str) -> Outcome:
    text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
    response = f"{code} {text}"
    if 500 <= code < 600:
        return Outcome(Result.BOUNCED, response)
    return Outcome(Result.RETRY, response)


def _deliver(connection: Any, item: Outgoing, message_id_domain: str) -> None:
    """Send one message on an open connection: over SMTP as Django's backend does, with
    the faster writers (`message_bytes`); through any other backend (console, locmem) as
    a Django message, its way."""
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        build_message(item, connection, message_id_domain=message_id_domain).send()
        return
    sender, recipients, raw = message_bytes(item, message_id_domain=message_id_domain)
    smtp.sendmail(sender, recipients, raw)


# An address Django's sanitize_address returns unchanged: ASCII local@domain, no name.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\Z")


def _recipient(address: str, encoding: str) -> str:
    """sanitize_address, without its (slow) header parser for a plain address."""
    return address if _PLAIN_ADDRESS.match(address) else sanitize_address(address, encoding)


@functools.lru_cache(maxsize=256)
def _sender(address: str, encoding: str) -> str:
    """sanitize_address of a From address: a few per campaign, so remembered."""
    return sanitize_address(address, encoding)


NO_RATE_SLOT = "not sent: the relay's rate limit left no slot before the batch's time limit"


class _Pool:
    """Idle connections (Django email backends), reused between batches by any thread."""

    def __init__(self, connect: Callable[[], Any], idle_check: float) -> None:
        self.connect, self.idle_check = connect, idle_check
        self._idle: queue.LifoQueue[tuple[Any, float]] = queue.LifoQueue()

    def checkout(self) -> Any:
        """An open connection: an idle one that still answers, or a new one (raises
        OSError / SMTPException when the server cannot be reached)."""
        while True:
            try:
                connection, since = self._idle.get_nowait()
            except queue.Empty:
                break
            if time.monotonic() - since < self.idle_check or _alive(connection):
                return connection
            _close(connection)
        connection = self.connect()
        connection.open()
        return connection

    def checkin(self, connection: Any) -> None:
        self._idle.put((connection, time.monotonic()))

    def close(self) -> None:
        while True:
            try:
                connection, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            _close(connection)


def _alive(connection: Any) -> bool:
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        return True  # not an SMTP backend (console, locmem): nothing to go stale
    try:
        return smtp.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _close(connection: Any) -> None:
    try:
        connection.close()
    except (smtplib.SMTPException, OSError):
        pass


class EmailAdapter:
    """`connect`: a new (unopened) Django email backend, by default the configured one.
    `pool_size`: connections, and sender threads, at once. `limiter`: the relay's rate
    limit. `cap`: seconds a message started before the deadline may still take."""

    name = "smtp"

    def __init__(
        self,
        *,
        connect: Callable[[], Any] | None = None,
        pool_size: int = 4,
        message_id_domain: str = "localhost",
        limiter: RateLimiter | None = None,
        idle_check: float = 10.0,
        cap: float = 60.0,
    ) -> None:
        self.pool = _Pool(connect or (lambda: get_connection(fail_silently=False)), idle_check)
        self.pool_size = max(1, pool_size)
        self.message_id_domain = message_id_domain
        self.limiter = limiter
        self.cap = cap
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _threads(self) -> ThreadPoolExecutor:
        with self._lock:
            # TRICKY: a forked worker inherits the executor object but not its threads.
            if self._executor is None or self._pid != os.getpid():
                self._executor = ThreadPoolExecutor(
                    max_workers=self.pool_size, thread_name_prefix="herald-smtp"
                )
                self._pid = os.getpid()
            return self._executor

    def send_batch(self, items: list[Outgoing], *, deadline: float | None = None) -> list[Outcome]:
        broken: list[str] = []  # the first connection error of this batch

        def one(item: Outgoing) -> Outcome:
            if past(deadline):
                return not_started()
            if broken:
                return not_started(f"not sent: connection: {broken[0]}")
            if self.limiter is not None and not self.limiter.acquire(deadline):
                return not_started(NO_RATE_SLOT)
            try:
                connection = self.pool.checkout()
            except (TimeoutError, smtplib.SMTPException, OSError) as exc:
                broken.append(str(exc) or exc.__class__.__name__)
                return not_started(f"not sent: connection: {broken[0]}")
            keep = True
            try:
                _deliver(connection, item, self.message_id_domain)
                return Outcome(Result.DELIVERED, "250 accepted")
            except ValueError as exc:
                # A rendered address or header that cannot be sent (BadHeaderError is one):
                # retrying would fail the same way.
                return Outcome(Result.FAILED, f"invalid message: {exc}")
            except (smtplib.SMTPException, OSError) as exc:
                # A lost connection is not reused; a refused recipient leaves it usable.
                keep = not isinstance(exc, (smtplib.SMTPServerDisconnected, OSError))
                return _classify(exc)
            except Exception as exc:  # noqa: BLE001 — one bad item must not lose the batch
                keep = False
                return Outcome(Result.FAILED, f"adapter error: {exc!r}"[:500])
            finally:
                if keep:
                    self.pool.checkin(connection)
                else:
                    _close(connection)

        if not items:
            return []
        # One task per connection, each taking the next item until none is left (a future
        # per item cost more than writing its message): outcomes land by index.
        outcomes: list[Outcome | None] = [None] * len(items)
        pending = iter(range(len(items)))
        take = threading.Lock()
        cut = threading.Event()

        def sender() -> None:
            while not cut.is_set():
                with take:
                    index = next(pending, None)
                if index is None:
                    return
                outcomes[index] = one(items[index])

        futures = [self._threads().submit(sender) for _ in range(min(self.pool_size, len(items)))]
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic()) + self.cap
        futures_wait(futures, timeout=timeout)
        cut.set()  # a sender still busy finishes its message and takes no other
        return [
            outcome
            if outcome is not None
            else Outcome(
                Result.RETRY, f"cut: unanswered {self.cap:g}s after the batch's time limit"
            )
            for outcome in outcomes
        ]

    def close(self) -> None:
        self.pool.close()
        if self._executor is not None and self._pid == os.getpid():
            self._executor.shutdown(wait=False, cancel_futures=True)
