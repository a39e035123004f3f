"""Email through Django's email backend: real SMTP when EMAIL_HOST is set (spec §4.5).

One connection per batch. SMTP answers decide the outcome: a permanent refusal (5xx)
is a bounce, a temporary one (4xx) or a lost connection is retried later.

Tracking is the caller's: it signs the links and hands over the instrumented HTML and the
unsubscribe headers on each `Outgoing` (messaging.delivery.send), so this module knows
neither tokens nor URLs.
"""

from __future__ import annotations

import html
import json
import re
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import strip_tags

from .base import Outcome, Outgoing, Result

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


def build_message(item: Outgoing, connection=None) -> EmailMultiAlternatives:  # type: ignore[no-untyped-def]
    payload = item.payload
    # The tracked HTML when the caller prepared it. The preheader goes in after tracking:
    # it holds no link, and tracking only appends before </body>, so the order is moot.
    body_html = item.html if item.html is not None else payload.get("body") or ""
    if payload.get("preheader"):
        body_html = with_preheader(body_html, payload["preheader"])
    text = payload.get("plaintext_body") or plaintext_from_html(payload.get("body") or "")
    headers = {**(payload.get("headers") or {}), **item.extra_headers}
    headers["X-Herald-Message-Id"] = item.message_id
    if payload.get("extras"):
        # Braze passes extras to the provider as unique args; we carry them in one header.
        headers["X-Herald-Extras"] = json.dumps(payload["extras"], separators=(",", ":"))
    reply_to = payload.get("reply_to")
    message = EmailMultiAlternatives(
        subject=payload.get("subject") or "",
        body=text,
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        to=[item.address],
        reply_to=[reply_to] if reply_to and reply_to != "NO_REPLY_TO" else None,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(body_html, "text/html")
    if payload.get("amp_body"):
        message.attach_alternative(payload["amp_body"], "text/x-amp-html")
    return message


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


class EmailAdapter:
    name = "smtp"

    def send_batch(
        self, items: list[Outgoing], deadline: float | None = None
    ) -> list[Outcome]:
        try:
            connection = get_connection(fail_silently=False)
            connection.open()
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return [Outcome(Result.RETRY, f"connection: {exc}")] * len(items)
        outcomes: list[Outcome] = []
        try:
            for item in items:
                try:
                    build_message(item, connection).send()
                    outcomes.append(Outcome(Result.DELIVERED, "250 accepted"))
                except ValueError as exc:
                    # A rendered address or header that cannot be sent (BadHeaderError is one):
                    # retrying would fail the same way.
                    outcomes.append(Outcome(Result.FAILED, f"invalid message: {exc}"))
                except (smtplib.SMTPException, OSError) as exc:
                    outcomes.append(_classify(exc))
                    if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                        connection.close()
                        connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            # Reconnecting failed: what was not tried yet is retried later.
            outcomes.extend(
                [Outcome(Result.RETRY, f"connection: {exc}")] * (len(items) - len(outcomes))
            )
        finally:
            try:
                connection.close()
            except (smtplib.SMTPException, OSError):
                pass
        return outcomes
