"""REST endpoints: subscription groups (spec §3b.7).

Herald keeps no list of groups, so any `subscription_group_id` is accepted (Braze answers
`Invalid subscription group ID` for one it does not know).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config.api import api_response, endpoint

from .. import selectors
from ..schemas.subscriptions import (
    SubscriptionStatusGetQuery,
    SubscriptionStatusGetResponse,
    SubscriptionStatusSetRequest,
    SubscriptionStatusSetV2Request,
)
from ..schemas.users import SuccessResponse
from ..services import profiles as profile_services
from .users import body, check


@endpoint(
    "/subscription/status/set", permission="subscription.status.set",
    rate_limit="subscription.status.set", tags=("Subscription groups",),
    summary="Subscribe or unsubscribe users to a subscription group",
    body=SubscriptionStatusSetRequest, response=SuccessResponse,
)
def subscription_status_set(request: HttpRequest) -> JsonResponse:
    """Up to 50 `external_id`s, or `email` addresses, or `phone` numbers (not both).

    Every profile sharing an address or number is updated.
    """
    payload = check(SubscriptionStatusSetRequest, body(request))
    profile_services.subscription_status_set(
        group_id=payload.subscription_group_id, state=payload.subscription_state,
        external_ids=payload.external_id, emails=payload.email, phones=payload.phone,
    )
    return api_response(status=201)


@endpoint(
    "/v2/subscription/status/set", permission="subscription.status.set",
    rate_limit="subscription.status.set", tags=("Subscription groups",),
    summary="Update several subscription groups at once",
    body=SubscriptionStatusSetV2Request, response=SuccessResponse,
)
def subscription_status_set_v2(request: HttpRequest) -> JsonResponse:
    """Each item names a group, a state, and `external_ids`, `emails` or `phones`."""
    payload = check(SubscriptionStatusSetV2Request, body(request))
    for group in payload.subscription_groups:
        profile_services.subscription_status_set(
            group_id=group.subscription_group_id, state=group.subscription_state,
            external_ids=group.external_ids, emails=group.emails, phones=group.phones,
        )
    return api_response(status=201)


@endpoint(
    "/subscription/status/get", method="GET", permission="subscription.status.get",
    tags=("Subscription groups",), summary="Read users' state in a subscription group",
    query=SubscriptionStatusGetQuery, response=SubscriptionStatusGetResponse,
)
def subscription_status_get(request: HttpRequest) -> JsonResponse:
    """`Subscribed`, `Unsubscribed` or `Unknown` for each identifier asked about."""
    query: dict[str, object] = {"subscription_group_id": request.GET.get("subscription_group_id")}
    for name in ("external_id", "email", "phone"):
        values = request.GET.getlist(name) + request.GET.getlist(f"{name}[]")
        if values:
            query[name] = values
    payload = check(SubscriptionStatusGetQuery, query)
    status = selectors.subscription_status(
        group_id=payload.subscription_group_id, external_ids=payload.external_id,
        emails=None if payload.external_id else payload.email,
        phones=None if payload.external_id else payload.phone,
    )
    return api_response({"status": status})
