"""Email hygiene: the addresses Herald stops emailing (hard bounces, spam complaints).

Recorded from three sources: a permanent SMTP refusal at send time (the delivery
outcomes), a complaint or bounce reported to POST /email/feedback (Herald's JSON, or a
relay's webhook), and /email/blacklist. The delivery pipeline skips a suppressed address
(`rows_suppressed`); /email/bounce/remove and /email/spam/remove lift it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from campaigns.models import Channel

from ..models import Delivery, EmailSuppression, SubscriptionState
from .profiles import email_status_set

Reason = EmailSuppression.Reason
SKIP_REASONS = {Reason.HARD_BOUNCE: "email hard bounced", Reason.SPAM: "email marked as spam"}


def email_suppressions_record(*, emails: Iterable[str], reason: str, source: str,
                              at: datetime | None = None) -> int:
    """Suppress addresses for `reason` (the latest time wins); one statement."""
    at = at or timezone.now()
    rows = [EmailSuppression(email=email.strip().lower(), reason=reason, source=source[:300],
                             recorded_at=at)
            for email in sorted({e.strip().lower() for e in emails if e and e.strip()})]
    if not rows:
        return 0
    EmailSuppression.objects.bulk_create(rows, update_conflicts=True,
                                         unique_fields=["email", "reason"],
                                         update_fields=["source", "recorded_at"])
    return len(rows)


def hard_bounces_from_outcomes(rows: list[Delivery], responses: list[str]) -> None:
    """The delivery outcomes' hook: email rows refused permanently (SMTP 5xx) suppress their
    address. Called only with rows that bounced hard; nothing runs on the normal path."""
    now = timezone.now()
    by_source: dict[str, set[str]] = {}
    for row, response in zip(rows, responses, strict=True):
        if row.channel == Channel.EMAIL and row.address:
            by_source.setdefault(f"smtp: {response}"[:300], set()).add(row.address)
    for source, emails in by_source.items():
        email_suppressions_record(emails=emails, reason=Reason.HARD_BOUNCE, source=source,
                                  at=now)


def rows_suppressed(rows: list[Delivery]) -> None:
    """Skip the email rows whose address is suppressed, in place (one query per chunk)."""
    addresses = {row.address for row in rows
                 if row.status == Delivery.Status.PENDING and row.address}
    if not addresses:
        return
    reasons: dict[str, str] = {}
    for email, reason in EmailSuppression.objects.filter(email__in=addresses).values_list(
            "email", "reason"):
        # A hard bounce says more than a complaint: it wins when both are recorded.
        if reasons.get(email) != Reason.HARD_BOUNCE:
            reasons[email] = reason
    for row in rows:
        if row.status == Delivery.Status.PENDING and row.address in reasons:
            row.status, row.error = Delivery.Status.SKIPPED, SKIP_REASONS[reasons[row.address]]


@transaction.atomic
def email_blocklist(*, emails: list[str]) -> None:
    """Braze's /email/blacklist (/email/blocklist): unsubscribe and mark as hard bounced."""
    email_status_set(emails=emails, state=SubscriptionState.UNSUBSCRIBED)
    email_suppressions_record(emails=emails, reason=Reason.HARD_BOUNCE,
                              source="api: /email/blacklist")


def email_suppressions_remove(*, emails: list[str], reason: str) -> int:
    """Lift suppressions; an address that had none is fine (Braze answers success)."""
    deleted, _ = EmailSuppression.objects.filter(
        email__in=[e.strip().lower() for e in emails], reason=reason).delete()
    return deleted


def email_suppression_list(*, reason: str, start_date: date | None, end_date: date | None,
                           email: str | None, limit: int, offset: int
                           ) -> list[EmailSuppression]:
    """Suppressions of a reason, newest first, between the dates (inclusive) or of one
    address (which wins over the dates, as /email/unsubscribes does)."""
    rows = EmailSuppression.objects.filter(reason=reason)
    if email:
        rows = rows.filter(email=email.strip().lower())
    else:
        rows = rows.filter(
            recorded_at__gte=datetime.combine(start_date, time.min, tzinfo=UTC),
            recorded_at__lt=datetime.combine(end_date + timedelta(days=1), time.min,
                                             tzinfo=UTC))
    return list(rows.order_by("-recorded_at", "-id")[offset:offset + limit])


@transaction.atomic
def feedback_record(*, reports: list, source: str) -> int:
    """Record reported complaints and hard bounces (POST /email/feedback); a complaint
    also unsubscribes the address, as Braze does. Returns how many were recorded."""
    for report in reports:
        reason = Reason.SPAM if report.type == "spam" else Reason.HARD_BOUNCE
        email_suppressions_record(emails=[report.email], reason=reason, source=source,
                                  at=report.time)
        if reason == Reason.SPAM:
            email_status_set(emails=[report.email.strip().lower()],
                             state=SubscriptionState.UNSUBSCRIBED)
    return len(reports)
