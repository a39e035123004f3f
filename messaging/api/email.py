"""REST endpoints: global email subscription state (spec §3b.5, §3b.6)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config.api import ErrorStyle, api_response, endpoint

from .. import selectors
from ..schemas.users import (
    EmailStatusRequest,
    EmailUnsubscribesQuery,
    EmailUnsubscribesResponse,
    SuccessResponse,
)
from ..services import profiles as profile_services
from .users import without_legacy_key


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
