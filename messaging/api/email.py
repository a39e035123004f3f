"""REST endpoints: global email subscription state (spec §3b.5, §3b.6)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config.api import ErrorStyle, api_response, endpoint

from .. import selectors
from ..models import EmailSuppression
from ..schemas.email_hygiene import (
    EmailListRequest,
    EmailSuppressionQuery,
    FeedbackRequest,
    FeedbackResponse,
    HardBouncesResponse,
    SpamResponse,
    feedback_body,
)
from ..schemas.users import (
    EmailStatusRequest,
    EmailUnsubscribesQuery,
    EmailUnsubscribesResponse,
    SuccessResponse,
)
from ..services import email_hygiene as hygiene
from ..services import profiles as profile_services
from .users import without_legacy_key

Reason = EmailSuppression.Reason


@endpoint(
    "/email/status", permission="email.status", tags=("Email",),
    summary="Set the global email subscription state", body=EmailStatusRequest,
    response=SuccessResponse, prepare=without_legacy_key,
    error_style=ErrorStyle.PLAIN,
)
def email_status(request: HttpRequest, body: EmailStatusRequest) -> JsonResponse:
    """Set `email_subscribe` of every profile with these addresses (one, or up to 50).

    An address no profile has yet is remembered and applied when a profile gets it.
    """
    profile_services.email_status_set(emails=body.email, state=body.subscription_state)
    return api_response(status=201)


@endpoint(
    "/email/unsubscribes", method="GET", permission="email.unsubscribe", tags=("Email",),
    summary="List recent email unsubscribes", query=EmailUnsubscribesQuery,
    response=EmailUnsubscribesResponse, error_style=ErrorStyle.PLAIN,
)
def email_unsubscribes(request: HttpRequest, query: EmailUnsubscribesQuery) -> JsonResponse:
    """Addresses unsubscribed between `start_date` and `end_date`, or whether `email` is.

    Page with `offset` until a page holds fewer than `limit` rows.
    """
    rows = selectors.email_unsubscribe_list(
        start_date=query.start_date, end_date=query.end_date, email=query.email,
        limit=query.limit, offset=query.offset, descending=query.sort_direction == "desc",
    )
    # The recorded wire form of the time (spec §3b.6), not ISO 8601.
    emails = [{"email": row.email,
               "unsubscribed_at": row.updated_at.strftime("%Y-%m-%d %H:%M:%S +0000")}
              for row in rows]
    return api_response({"emails": emails})


# --- hygiene: hard bounces and spam complaints (issue 16) ----------------------------------


def _braze_time(moment) -> str:
    # The wire form of Braze's email lists (spec §3b.6), not ISO 8601.
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000")


@endpoint(
    "/email/blacklist", permission="email.blacklist", tags=("Email",),
    summary="Unsubscribe addresses and mark them hard bounced", body=EmailListRequest,
    response=SuccessResponse, prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)
def email_blacklist(request: HttpRequest, body: EmailListRequest) -> JsonResponse:
    """Braze's blocklist (also at /email/blocklist): each address (one, or up to 50) is
    unsubscribed from email and marked hard bounced, so nothing is sent to it."""
    hygiene.email_blocklist(emails=body.email)
    return api_response(status=201)


# Braze's newer name for the same endpoint, with the same permission.
endpoint(
    "/email/blocklist", permission="email.blacklist", tags=("Email",),
    summary="Unsubscribe addresses and mark them hard bounced", body=EmailListRequest,
    response=SuccessResponse, prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)(email_blacklist)


@endpoint(
    "/email/bounce/remove", permission="email.bounce.remove", tags=("Email",),
    summary="Remove addresses from the hard bounce list", body=EmailListRequest,
    response=SuccessResponse, prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)
def email_bounce_remove(request: HttpRequest, body: EmailListRequest) -> JsonResponse:
    """Herald emails these addresses again (their subscription state is unchanged)."""
    hygiene.email_suppressions_remove(emails=body.email, reason=Reason.HARD_BOUNCE)
    return api_response(status=201)


@endpoint(
    "/email/spam/remove", permission="email.spam.remove", tags=("Email",),
    summary="Remove addresses from the spam list", body=EmailListRequest,
    response=SuccessResponse, prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)
def email_spam_remove(request: HttpRequest, body: EmailListRequest) -> JsonResponse:
    """Herald emails these addresses again once they are subscribed (a complaint also
    unsubscribed them: set that back with /email/status)."""
    hygiene.email_suppressions_remove(emails=body.email, reason=Reason.SPAM)
    return api_response(status=201)


@endpoint(
    "/email/hard_bounces", method="GET", permission="email.hard_bounces", tags=("Email",),
    summary="List hard-bounced addresses", query=EmailSuppressionQuery,
    response=HardBouncesResponse, error_style=ErrorStyle.PLAIN,
)
def email_hard_bounces(request: HttpRequest, query: EmailSuppressionQuery) -> JsonResponse:
    """Addresses that hard bounced between `start_date` and `end_date` (inclusive), newest
    first, or whether `email` did. Page with `offset` (at most 500 a page with `limit`)."""
    rows = hygiene.email_suppression_list(
        reason=Reason.HARD_BOUNCE, start_date=query.start_date, end_date=query.end_date,
        email=query.email, limit=query.limit, offset=query.offset)
    return api_response({"emails": [
        {"email": row.email, "hard_bounced_at": _braze_time(row.recorded_at)} for row in rows]})


@endpoint(
    "/email/spam", method="GET", permission="email.spam", tags=("Email",),
    summary="List addresses that reported spam", query=EmailSuppressionQuery,
    response=SpamResponse, error_style=ErrorStyle.PLAIN,
)
def email_spam(request: HttpRequest, query: EmailSuppressionQuery) -> JsonResponse:
    """Addresses that marked an email as spam, as /email/hard_bounces lists bounces."""
    rows = hygiene.email_suppression_list(
        reason=Reason.SPAM, start_date=query.start_date, end_date=query.end_date,
        email=query.email, limit=query.limit, offset=query.offset)
    return api_response({"emails": [
        {"email": row.email, "spam_reported_at": _braze_time(row.recorded_at)} for row in rows]})


@endpoint(
    "/email/feedback", permission="email.feedback", tags=("Email",),
    summary="Report spam complaints and hard bounces (Herald's, not Braze's)",
    body=FeedbackRequest, response=FeedbackResponse, prepare=feedback_body,
    error_style=ErrorStyle.PLAIN, success_status=200,
)
def email_feedback(request: HttpRequest, body: FeedbackRequest) -> JsonResponse:
    """Where a relay's feedback loop reports complaints and bounces (README, "Email
    hygiene"): Herald's JSON, or a Postmark webhook body as Postmark sends it.

    A spam complaint also unsubscribes the address from email, as Braze does; a hard
    bounce suppresses it. Either way the pipeline stops emailing it.
    """
    recorded = hygiene.feedback_record(reports=body.reports, source=f"feedback: {body.relay}")
    return api_response({"recorded": recorded})
