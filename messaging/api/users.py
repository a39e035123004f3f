"""REST endpoints: users (spec §3.4 /users/track, §3b.1–3b.4 aliases, identify, delete, export)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from django.http import HttpRequest, JsonResponse

from config.api import ApiError, ErrorStyle, api_response, endpoint
from config.api.validation import validation_errors

from .. import selectors
from ..schemas.users import (
    MAX_IDS,
    MAX_TRACK_ITEMS,
    AliasesProcessedResponse,
    DeletedResponse,
    TrackAttributes,
    TrackEvent,
    TrackPurchase,
    UsersAliasNewRequest,
    UsersDeleteRequest,
    UsersExportIdsRequest,
    UsersExportIdsResponse,
    UsersIdentifyRequest,
    UsersTrackRequest,
    UsersTrackResponse,
)
from ..services import profiles as profile_services

TOO_MANY_IDS = "The max number of ids per request was exceeded"
TRACK_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "attributes": TrackAttributes, "events": TrackEvent, "purchases": TrackPurchase,
}


def without_legacy_key(data: dict[str, Any]) -> dict[str, Any]:
    """A `prepare` step: the legacy body key (spec §2.2) was read by the guard; no field."""
    return {k: v for k, v in data.items() if k != "api_key"}


def capped(
    *names: str, message: str = TOO_MANY_IDS
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A `prepare` step: Braze's own 400 for more than 50 ids in `names`, before the schema."""

    def prepare(data: dict[str, Any]) -> dict[str, Any]:
        data = without_legacy_key(data)
        total = sum(len(data[n]) for n in names if isinstance(data.get(n), list))
        if total > MAX_IDS:
            raise ApiError(400, message, [f"{' + '.join(names)}: at most {MAX_IDS} items"])
        return data

    return prepare


@dataclass
class TrackObjects:
    """A /users/track body, each object validated on its own (partial success, spec §3.4)."""

    arrays: list[str]  # the arrays given, in request order
    parsed: dict[str, list[tuple[int, Any]]]  # array -> (index, valid object)
    errors: list[dict[str, Any]]  # the objects refused: type, input_array, index


def track_objects(data: dict[str, Any]) -> TrackObjects:
    """The `parse` step of /users/track: a 400 only when the arrays themselves are wrong."""
    arrays: dict[str, list[Any]] = {}
    for name in TRACK_MODELS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            raise ApiError(400, "Bad Request", [f"{name}: must be an array of objects"])
        if len(value) > MAX_TRACK_ITEMS:
            raise ApiError(400, "Max Input Length Exceeded",
                           [f"{name}: at most {MAX_TRACK_ITEMS} objects per request"])
        arrays[name] = value
    if not arrays:
        raise ApiError(400, "Bad Request", ["body: give attributes, events or purchases"])

    errors: list[dict[str, Any]] = []
    parsed: dict[str, list[tuple[int, Any]]] = {}
    for name, items in arrays.items():
        parsed[name] = []
        for index, item in enumerate(items):
            try:
                parsed[name].append((index, TRACK_MODELS[name].model_validate(item)))
            except pydantic.ValidationError as exc:
                text = "; ".join(validation_errors(exc, style=ErrorStyle.PLAIN))
                errors.append({"type": text, "input_array": name, "index": index})
    return TrackObjects(arrays=list(arrays), parsed=parsed, errors=errors)


@endpoint(
    "/users/track", permission="users.track", rate_limit="users.track", tags=("Users",),
    summary="Record attributes, custom events and purchases",
    body=UsersTrackRequest, response=UsersTrackResponse, parse=track_objects,
    # An object with a NUL or a lone surrogate is refused on its own (_TrackItem).
    text_per_object=True,
)
def users_track(request: HttpRequest, body: TrackObjects) -> JsonResponse:
    """Create or update profiles and record what they did.

    Each object names its user by `external_id`, `user_alias`, `braze_id`, `email` or
    `phone`. Invalid objects are listed in `errors` (`type`, `input_array`, `index`);
    the others are processed and counted in `*_processed`.
    """
    result = profile_services.profiles_track(
        attributes=body.parsed.get("attributes"), events=body.parsed.get("events"),
        purchases=body.parsed.get("purchases"),
    )
    answer: dict[str, Any] = {}
    for name in body.arrays:
        answer[f"{name}_processed"] = getattr(result, f"{name}_processed")
    order = list(TRACK_MODELS)
    errors = sorted(body.errors + result.errors,
                    key=lambda e: (order.index(e["input_array"]), e["index"]))
    if errors:
        answer["errors"] = errors
    return api_response(answer, status=201)


@endpoint(
    "/users/alias/new", permission="users.alias.new", rate_limit="users.profiles",
    tags=("Users",), summary="Add user aliases, or create alias-only users",
    body=UsersAliasNewRequest, response=AliasesProcessedResponse,
    prepare=capped("user_aliases"), error_style=ErrorStyle.PLAIN,
)
def users_alias_new(request: HttpRequest, body: UsersAliasNewRequest) -> JsonResponse:
    """With `external_id` the alias joins that user; without, a new alias-only user is made.

    A (label, name) pair already taken changes nothing but is still counted.
    """
    count = profile_services.aliases_create(items=body.user_aliases)
    return api_response({"aliases_processed": count}, status=201)


@endpoint(
    "/users/identify", permission="users.identify", rate_limit="users.profiles",
    tags=("Users",), summary="Identify unidentified profiles with an external_id",
    body=UsersIdentifyRequest, response=AliasesProcessedResponse,
    prepare=capped("aliases_to_identify", "emails_to_identify", "phone_numbers_to_identify"),
    error_style=ErrorStyle.PLAIN,
)
def users_identify(request: HttpRequest, body: UsersIdentifyRequest) -> JsonResponse:
    """Fold an alias-, email- or phone-only profile into the profile with `external_id`.

    When no profile has that `external_id`, the unidentified profile takes it.
    """
    count = profile_services.profiles_identify(request=body)
    return api_response({"aliases_processed": count}, status=201)


@endpoint(
    "/users/delete", permission="users.delete", rate_limit="users.profiles", tags=("Users",),
    summary="Delete profiles", body=UsersDeleteRequest, response=DeletedResponse,
    prepare=capped("external_ids", "user_aliases", "braze_ids", "email_addresses",
                   "phone_numbers"),
    error_style=ErrorStyle.PLAIN,
)
def users_delete(request: HttpRequest, body: UsersDeleteRequest) -> JsonResponse:
    """Delete profiles named by one identifier kind (at most 50); irreversible.

    `deleted` counts the identifiers accepted, whether or not they named a profile.
    """
    count = profile_services.profiles_delete(request=body)
    return api_response({"deleted": count}, status=201)


@endpoint(
    "/users/export/ids", permission="users.export.ids", rate_limit="users.export.ids",
    tags=("Users",), summary="Export profiles by identifier",
    body=UsersExportIdsRequest, response=UsersExportIdsResponse,
    prepare=capped("external_ids", "user_aliases",
                   message="The max number of external_ids and aliases per request was exceeded"),
    error_style=ErrorStyle.PLAIN,
)
def users_export_ids(request: HttpRequest, body: UsersExportIdsRequest) -> JsonResponse:
    """Profiles by `external_ids`, `user_aliases`, `braze_id`, `email_address`, `phone`
    or `device_id`; identifiers that match nobody come back in `invalid_user_ids`.
    """
    users, invalid = selectors.profiles_export(request=body)
    answer: dict[str, Any] = {"users": users}
    if invalid:
        answer["invalid_user_ids"] = invalid
    return api_response(answer, status=201)
