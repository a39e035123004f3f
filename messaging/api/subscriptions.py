"""REST endpoints: subscription groups (spec §3b.7).

Herald keeps no list of groups, so any `subscription_group_id` is accepted (Braze answers
`Invalid subscription group ID` for one it does not know).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse, QueryDict

from config.api import ErrorStyle, api_response, endpoint

from .. import selectors
from ..schemas.subscriptions import (
    SubscriptionStatusGetQuery,
    SubscriptionStatusGetResponse,
    SubscriptionStatusSetRequest,
    SubscriptionStatusSetV2Request,
)
from ..schemas.users import SuccessResponse
from ..services import profiles as profile_services
from .users import without_legacy_key


@endpoint(
    "/subscription/status/set", permission="subscription.status.set",
    rate_limit="subscription.status.set", tags=("Subscription groups",),
    summary="Subscribe or unsubscribe users to a subscription group",
    body=SubscriptionStatusSetRequest, response=SuccessResponse,
    prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)
def subscription_status_set(
    request: HttpRequest, body: SubscriptionStatusSetRequest
) -> JsonResponse:
    """Up to 50 `external_id`s, or `email` addresses, or `phone` numbers (not both).

    Every profile sharing an address or number is updated.
    """
    profile_services.subscription_status_set(
        group_id=body.subscription_group_id, state=body.subscription_state,
        external_ids=body.external_id, emails=body.email, phones=body.phone,
    )
    return api_response(status=201)


@endpoint(
    "/v2/subscription/status/set", permission="subscription.status.set",
    rate_limit="subscription.status.set", tags=("Subscription groups",),
    summary="Update several subscription groups at once",
    body=SubscriptionStatusSetV2Request, response=SuccessResponse,
    prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)
def subscription_status_set_v2(
    request: HttpRequest, body: SubscriptionStatusSetV2Request
) -> JsonResponse:
    """Each item names a group, a state, and `external_ids`, `emails` or `phones`."""
    for group in body.subscription_groups:
        profile_services.subscription_status_set(
            group_id=group.subscription_group_id, state=group.subscription_state,
            external_ids=group.external_ids, emails=group.emails, phones=group.phones,
        )
    return api_response(status=201)


def _status_query(params: QueryDict) -> dict[str, Any]:
    """The query as the model reads it: identifiers repeated (also as `name[]`) are lists."""
    query: dict[str, Any] = {"subscription_group_id": params.get("subscription_group_id")}
    for name in ("external_id", "email", "phone"):
        values = params.getlist(name) + params.getlist(f"{name}[]")
        if values:
            query[name] = values
    return query


@endpoint(
    "/subscription/status/get", method="GET", permission="subscription.status.get",
    tags=("Subscription groups",), summary="Read users' state in a subscription group",
    query=SubscriptionStatusGetQuery, response=SubscriptionStatusGetResponse,
    prepare=_status_query, error_style=ErrorStyle.PLAIN,
)
def subscription_status_get(
    request: HttpRequest, query: SubscriptionStatusGetQuery
) -> JsonResponse:
    """`Subscribed`, `Unsubscribed` or `Unknown` for each identifier asked about."""
    status = selectors.subscription_status(
        group_id=query.subscription_group_id, external_ids=query.external_id,
        emails=None if query.external_id else query.email,
        phones=None if query.external_id else query.phone,
    )
    return api_response({"status": status})
