"""REST endpoints: subscription groups (spec §3b.7).

A `subscription_group_id` must name a group of Settings › Subscription groups, else
Braze's `400 Invalid subscription group ID` (selectors.subscription_group_problem: a
fresh install with no group yet accepts any ID). Every group of a request is checked
before anything is written.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse, QueryDict

from config.api import ErrorStyle, api_response, endpoint

from .. import selectors
from ..errors import UnknownSubscriptionGroup
from ..schemas.subscriptions import (
    SubscriptionStatusGetQuery,
    SubscriptionStatusGetResponse,
    SubscriptionStatusSetRequest,
    SubscriptionStatusSetV2Request,
    SubscriptionUserStatusQuery,
    SubscriptionUserStatusResponse,
)
from ..schemas.users import SuccessResponse
from ..services import profiles as profile_services
from .users import without_legacy_key


def _known_groups(*group_ids: str) -> None:
    for group_id in group_ids:
        problem = selectors.subscription_group_problem(group_id)
        if problem:
            raise UnknownSubscriptionGroup(f"subscription_group_id: {problem}")


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
    _known_groups(body.subscription_group_id)
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
    _known_groups(*(group.subscription_group_id for group in body.subscription_groups))
    for group in body.subscription_groups:
        profile_services.subscription_status_set(
            group_id=group.subscription_group_id, state=group.subscription_state,
            external_ids=group.external_ids, emails=group.emails, phones=group.phones,
        )
    return api_response(status=201)


def _identifier_lists(params: QueryDict, query: dict[str, Any]) -> dict[str, Any]:
    for name in ("external_id", "email", "phone"):
        values = params.getlist(name) + params.getlist(f"{name}[]")
        if values:
            query[name] = values
    return query


def _user_status_query(params: QueryDict) -> dict[str, Any]:
    query = {name: params[name] for name in ("limit", "offset") if name in params}
    return _identifier_lists(params, query)


@endpoint(
    "/subscription/user/status", method="GET", permission="subscription.groups.get",
    tags=("Subscription groups",), summary="List users' subscription groups with a state",
    query=SubscriptionUserStatusQuery, response=SubscriptionUserStatusResponse,
    prepare=_user_status_query, error_style=ErrorStyle.PLAIN,
)
def subscription_user_status(
    request: HttpRequest, query: SubscriptionUserStatusQuery
) -> JsonResponse:
    """Up to 50 `external_id`s, else `email`s or `phone`s; 100 users per page at most.

    Only groups the user has a state in are listed; users sharing an address are each listed.
    """
    users, total = selectors.subscription_user_status(
        external_ids=query.external_id, emails=None if query.external_id else query.email,
        phones=None if query.external_id else query.phone,
        limit=query.limit, offset=query.offset,
    )
    return api_response({"users": users, "total_count": total})


def _status_query(params: QueryDict) -> dict[str, Any]:
    """The query as the model reads it: identifiers repeated (also as `name[]`) are lists."""
    return _identifier_lists(params, {"subscription_group_id": params.get("subscription_group_id")})


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
    _known_groups(query.subscription_group_id)
    status = selectors.subscription_status(
        group_id=query.subscription_group_id, external_ids=query.external_id,
        emails=None if query.external_id else query.email,
        phones=None if query.external_id else query.phone,
    )
    return api_response({"status": status})
