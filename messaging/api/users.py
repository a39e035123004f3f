"""REST endpoints: users (spec §3.4 /users/track, §3b.1–3b.4 aliases, identify, delete, export)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from django.http import HttpRequest, JsonResponse

from analytics.selectors import segment_get
from config.api import ApiError, ErrorStyle, api_response, endpoint
from config.api.validation import validation_errors

from .. import selectors
from ..models import UserExport
from ..schemas.users import (
    MAX_IDS,
    MAX_TRACK_ITEMS,
    AliasesProcessedResponse,
    DeletedResponse,
    ExternalIdsRemoveRequest,
    ExternalIdsRemoveResponse,
    ExternalIdsRenameRequest,
    ExternalIdsRenameResponse,
    SuccessResponse,
    TrackAttributes,
    TrackEvent,
    TrackPurchase,
    UsersAliasNewRequest,
    UsersAliasUpdateRequest,
    UsersDeleteRequest,
    UsersExportFileResponse,
    UsersExportGlobalControlGroupRequest,
    UsersExportIdsRequest,
    UsersExportIdsResponse,
    UsersExportSegmentRequest,
    UsersIdentifyRequest,
    UsersMergeRequest,
    UsersTrackRequest,
    UsersTrackResponse,
)
from ..services import profiles as profile_services
from ..services import users as user_services

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


@endpoint(
    "/users/merge", permission="users.merge", rate_limit="users.profiles", tags=("Users",),
    summary="Merge one user into another", body=UsersMergeRequest, response=SuccessResponse,
    prepare=capped("merge_updates"), error_style=ErrorStyle.PLAIN, success_status=202,
)
def users_merge(request: HttpRequest, body: UsersMergeRequest) -> JsonResponse:
    """Fold each `identifier_to_merge` user into its `identifier_to_keep` (at most 50).

    The kept user gains what only the merged one had (fields, custom attributes, aliases of
    other labels, push tokens, events, purchases, message history); the merged user is
    deleted. A side naming nobody is skipped. Email and phone need `prioritization`.
    """
    user_services.profiles_merge(updates=body.merge_updates)
    return api_response(status=202)


@endpoint(
    "/users/alias/update", permission="users.alias.update", rate_limit="users.profiles",
    tags=("Users",), summary="Rename user aliases", body=UsersAliasUpdateRequest,
    response=SuccessResponse, prepare=capped("alias_updates"), error_style=ErrorStyle.PLAIN,
)
def users_alias_update(request: HttpRequest, body: UsersAliasUpdateRequest) -> JsonResponse:
    """Replace `old_alias_name` by `new_alias_name` under `alias_label` (at most 50).

    An alias not found changes nothing, as with Braze; nor does a new name already taken.
    """
    user_services.aliases_update(updates=body.alias_updates)
    return api_response(status=201)


@endpoint(
    "/users/external_ids/rename", permission="users.external_ids.rename",
    rate_limit="users.external_ids", tags=("Users",),
    summary="Rename external IDs (the old one stays usable until removed)",
    body=ExternalIdsRenameRequest, response=ExternalIdsRenameResponse,
    prepare=capped("external_id_renames"), error_style=ErrorStyle.PLAIN,
)
def users_external_ids_rename(request: HttpRequest, body: ExternalIdsRenameRequest
                              ) -> JsonResponse:
    """Give users a new primary `external_id`; the current one becomes deprecated.

    A deprecated ID still names the user everywhere an external_id is looked up until
    /users/external_ids/remove removes it. The current ID must be primary, the new one
    unused, the two different; renames that break a rule are in `rename_errors`.
    """
    result = user_services.external_ids_rename(renames=body.external_id_renames)
    return api_response({"external_ids": result.renamed, "rename_errors": result.errors},
                        status=201)


@endpoint(
    "/users/external_ids/remove", permission="users.external_ids.remove",
    rate_limit="users.external_ids", tags=("Users",), summary="Remove deprecated external IDs",
    body=ExternalIdsRemoveRequest, response=ExternalIdsRemoveResponse,
    prepare=capped("external_ids"), error_style=ErrorStyle.PLAIN,
)
def users_external_ids_remove(request: HttpRequest, body: ExternalIdsRemoveRequest
                              ) -> JsonResponse:
    """Forget deprecated external IDs for good; primary or unknown IDs are in
    `removal_errors` (a primary ID is never removed here: use /users/delete)."""
    result = user_services.external_ids_remove(external_ids=body.external_ids)
    return api_response({"removed_ids": result.removed, "removal_errors": result.errors},
                        status=201)


def _origin(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


NO_SUCH_SEGMENT = "Invalid segment_id"


@endpoint(
    "/users/export/segment", permission="users.export.segment", tags=("Users",),
    summary="Export the users of a segment to a file", body=UsersExportSegmentRequest,
    response=UsersExportFileResponse, prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
    answers={400: ("the segment does not exist",
                   {"message": NO_SUCH_SEGMENT, "errors": ["segment_id: no such segment"]})},
)
def users_export_segment(request: HttpRequest, body: UsersExportSegmentRequest) -> JsonResponse:
    """Write the segment's users (the `fields_to_export` of /users/export/ids) to a file.

    Braze writes to cloud storage; Herald writes to its own storage and answers `url`, a
    signed download URL that expires (EXPORT_URL_MAX_AGE, a day by default) and answers
    404 until the file is written. `callback_endpoint`, when given, is POSTed
    `{success, message, url, time}` once it is.
    """
    if segment_get(segment_id=body.segment_id) is None:
        raise ApiError(400, NO_SUCH_SEGMENT, ["segment_id: no such segment"])
    export, url = user_services.user_export_create(
        kind=UserExport.Kind.SEGMENT, segment_id=body.segment_id,
        fields_to_export=list(body.fields_to_export), output_format=body.output_format,
        callback_endpoint=body.callback_endpoint or "", origin=_origin(request))
    return api_response({"object_prefix": export.object_prefix, "url": url}, status=201)


@endpoint(
    "/users/export/global_control_group", permission="users.export.global_control_group",
    tags=("Users",), summary="Export the users of the global control group to a file",
    body=UsersExportGlobalControlGroupRequest, response=UsersExportFileResponse,
    prepare=without_legacy_key, error_style=ErrorStyle.PLAIN,
)
def users_export_global_control_group(
    request: HttpRequest, body: UsersExportGlobalControlGroupRequest
) -> JsonResponse:
    """Write the global control group's users to a file, as /users/export/segment does.

    The fields are Braze's for this export: external_id, user_aliases, braze_id, email,
    phone. (API campaigns still reach these users; the group only matters to reports.)
    """
    export, url = user_services.user_export_create(
        kind=UserExport.Kind.GLOBAL_CONTROL_GROUP, fields_to_export=list(body.fields_to_export),
        output_format=body.output_format, callback_endpoint=body.callback_endpoint or "",
        origin=_origin(request))
    return api_response({"object_prefix": export.object_prefix, "url": url}, status=201)
