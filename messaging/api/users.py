"""REST endpoints: users (spec §3.4 /users/track, §3b.1–3b.4 aliases, identify, delete, export)."""

from __future__ import annotations

from typing import Any

import pydantic
from django.http import HttpRequest, JsonResponse

from config.api import ApiError, api_response, endpoint

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
    contains_nul,
)
from ..services import profiles as profile_services

TOO_MANY_IDS = "The max number of ids per request was exceeded"
TRACK_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "attributes": TrackAttributes, "events": TrackEvent, "purchases": TrackPurchase,
}


def error_messages(exc: pydantic.ValidationError) -> list[str]:
    """Pydantic errors as `field: problem`, or just the problem for whole-object rules."""
    messages = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"]
               if not (isinstance(part, str) and ("[" in part or part.startswith("function-")))]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        if error["type"] == "value_error":
            text = str(error["ctx"]["error"])
        elif error["type"] in ("dict_type", "model_type", "model_attributes_type"):
            text = "must be an object"
        else:
            text = error["msg"]
        messages.append(f"{where}: {text}" if where else text)
    return messages


def check(model: type[pydantic.BaseModel], data: Any) -> Any:
    """Validate a whole request; 400 naming every field in error."""
    if contains_nul(data):
        raise ApiError(400, "Bad Request", ["body: text must not contain NUL characters"])
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = error_messages(exc)
        raise ApiError(400, errors[0] if len(errors) == 1 else "Bad Request", errors) from None


def body(request: HttpRequest) -> dict[str, Any]:
    # The legacy body key (spec §2.2) was read by the guard; it is no request field.
    return {k: v for k, v in request.json.items() if k != "api_key"}


def cap(data: dict[str, Any], names: tuple[str, ...], *, message: str = TOO_MANY_IDS) -> None:
    total = sum(len(data[n]) for n in names if isinstance(data.get(n), list))
    if total > MAX_IDS:
        raise ApiError(400, message, [f"{' + '.join(names)}: at most {MAX_IDS} items"])


@endpoint(
    "/users/track", permission="users.track", rate_limit="users.track", tags=("Users",),
    summary="Record attributes, custom events and purchases",
    body=UsersTrackRequest, response=UsersTrackResponse,
)
def users_track(request: HttpRequest) -> JsonResponse:
    """Create or update profiles and record what they did.

    Each object names its user by `external_id`, `user_alias`, `braze_id`, `email` or
    `phone`. Invalid objects are listed in `errors` (`type`, `input_array`, `index`);
    the others are processed and counted in `*_processed`.
    """
    data = request.json
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
                errors.append({"type": "; ".join(error_messages(exc)),
                               "input_array": name, "index": index})

    result = profile_services.profiles_track(
        attributes=parsed.get("attributes"), events=parsed.get("events"),
        purchases=parsed.get("purchases"),
    )
    answer: dict[str, Any] = {}
    for name in arrays:
        answer[f"{name}_processed"] = getattr(result, f"{name}_processed")
    order = list(TRACK_MODELS)
    errors = sorted(errors + result.errors,
                    key=lambda e: (order.index(e["input_array"]), e["index"]))
    if errors:
        answer["errors"] = errors
    return api_response(answer, status=201)


@endpoint(
    "/users/alias/new", permission="users.alias.new", rate_limit="users.profiles",
    tags=("Users",), summary="Add user aliases, or create alias-only users",
    body=UsersAliasNewRequest, response=AliasesProcessedResponse,
)
def users_alias_new(request: HttpRequest) -> JsonResponse:
    """With `external_id` the alias joins that user; without, a new alias-only user is made.

    A (label, name) pair already taken changes nothing but is still counted.
    """
    data = body(request)
    cap(data, ("user_aliases",))
    payload = check(UsersAliasNewRequest, data)
    count = profile_services.aliases_create(items=payload.user_aliases)
    return api_response({"aliases_processed": count}, status=201)


@endpoint(
    "/users/identify", permission="users.identify", rate_limit="users.profiles",
    tags=("Users",), summary="Identify unidentified profiles with an external_id",
    body=UsersIdentifyRequest, response=AliasesProcessedResponse,
)
def users_identify(request: HttpRequest) -> JsonResponse:
    """Fold an alias-, email- or phone-only profile into the profile with `external_id`.

    When no profile has that `external_id`, the unidentified profile takes it.
    """
    data = body(request)
    cap(data, ("aliases_to_identify", "emails_to_identify", "phone_numbers_to_identify"))
    payload = check(UsersIdentifyRequest, data)
    count = profile_services.profiles_identify(request=payload)
    return api_response({"aliases_processed": count}, status=201)


@endpoint(
    "/users/delete", permission="users.delete", rate_limit="users.profiles", tags=("Users",),
    summary="Delete profiles", body=UsersDeleteRequest, response=DeletedResponse,
)
def users_delete(request: HttpRequest) -> JsonResponse:
    """Delete profiles named by one identifier kind (at most 50); irreversible.

    `deleted` counts the identifiers accepted, whether or not they named a profile.
    """
    data = body(request)
    cap(data, ("external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers"))
    payload = check(UsersDeleteRequest, data)
    count = profile_services.profiles_delete(request=payload)
    return api_response({"deleted": count}, status=201)


@endpoint(
    "/users/export/ids", permission="users.export.ids", rate_limit="users.export.ids",
    tags=("Users",), summary="Export profiles by identifier",
    body=UsersExportIdsRequest, response=UsersExportIdsResponse,
)
def users_export_ids(request: HttpRequest) -> JsonResponse:
    """Profiles by `external_ids`, `user_aliases`, `braze_id`, `email_address`, `phone`
    or `device_id`; identifiers that match nobody come back in `invalid_user_ids`.
    """
    data = body(request)
    cap(data, ("external_ids", "user_aliases"),
        message="The max number of external_ids and aliases per request was exceeded")
    payload = check(UsersExportIdsRequest, data)
    users, invalid = selectors.profiles_export(request=payload)
    answer: dict[str, Any] = {"users": users}
    if invalid:
        answer["invalid_user_ids"] = invalid
    return api_response(answer, status=201)
