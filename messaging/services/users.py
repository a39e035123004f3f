"""Profile services of issue 16: merge, alias update, external ID migration, file exports.

/users/merge folds one profile into another as /users/identify does (profiles._fold);
renamed external IDs stay usable until removed (Braze's "deprecated" IDs, README).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from ..exports import export_url
from ..models import DeprecatedExternalId, Profile, UserAlias, UserExport
from ..schemas.users import (
    AliasUpdate,
    ExternalIdRename,
    MergeIdentifier,
    MergeUpdate,
)
from ..tasks import user_export_task
from .profiles import _fold, _pick

# The reasons of rename_errors and removal_errors (Braze documents the rules, not the text).
CURRENT_IS_DEPRECATED = "current_external_id is a deprecated external ID"
CURRENT_UNKNOWN = "current_external_id names no user"
NEW_TAKEN = "new_external_id is already used as a primary or deprecated external ID"
SAME_IDS = "current_external_id and new_external_id are the same"
DUPLICATE_IN_REQUEST = "the external ID is renamed twice in this request"
NOT_DEPRECATED = "is not a deprecated external ID"


def profile_by_external_id(external_id: str) -> Profile | None:
    """The profile an external_id names: its primary one, or one it had before a rename."""
    profile = Profile.objects.filter(external_id=external_id).first()
    if profile is None:
        old = (DeprecatedExternalId.objects.select_related("profile")
               .filter(external_id=external_id).first())
        profile = old.profile if old else None
    return profile


def _resolve(identifier: MergeIdentifier) -> Profile | None:
    if identifier.external_id:
        return profile_by_external_id(identifier.external_id)
    if identifier.user_alias:
        alias = UserAlias.objects.select_related("profile").filter(
            alias_label=identifier.user_alias.alias_label,
            alias_name=identifier.user_alias.alias_name).first()
        return alias.profile if alias else None
    if identifier.email:
        candidates = Profile.objects.filter(email=identifier.email.strip().lower())
    else:
        candidates = Profile.objects.filter(phone=identifier.phone)
    return _pick(list(candidates), identifier.prioritization or [])


@transaction.atomic
def profiles_merge(*, updates: list[MergeUpdate]) -> int:
    """Fold each `identifier_to_merge` profile into its `identifier_to_keep`; return how
    many merges happened. A side that names nobody, or both naming one profile, is skipped
    (Braze answers success and does nothing)."""
    merged = 0
    for update in updates:
        source = _resolve(update.identifier_to_merge)
        target = _resolve(update.identifier_to_keep)
        if source is None or target is None or source.pk == target.pk:
            continue
        source = Profile.objects.select_for_update().get(pk=source.pk)
        target = Profile.objects.select_for_update().get(pk=target.pk)
        DeprecatedExternalId.objects.filter(profile=source).update(profile=target)
        _fold(source=source, target=target)
        merged += 1
    return merged


@transaction.atomic
def aliases_update(*, updates: list[AliasUpdate]) -> int:
    """Rename alias names under their label; a pair not found, or a new name already
    taken under that label, changes nothing. Returns how many aliases were renamed."""
    renamed = 0
    for update in updates:
        taken = UserAlias.objects.filter(alias_label=update.alias_label,
                                         alias_name=update.new_alias_name).exists()
        if taken:
            continue
        renamed += UserAlias.objects.filter(
            alias_label=update.alias_label, alias_name=update.old_alias_name,
        ).update(alias_name=update.new_alias_name)
    return renamed


@dataclass
class RenameResult:
    renamed: list[str] = field(default_factory=list)
    errors: list[list[str]] = field(default_factory=list)


@transaction.atomic
def external_ids_rename(*, renames: list[ExternalIdRename]) -> RenameResult:
    """Give each profile its new primary external_id and keep the old one as deprecated.

    Braze's rules: the current ID must be primary, the new one unused as primary or
    deprecated, and the two different; a rename that breaks one is listed in the errors
    and the others are done.
    """
    result = RenameResult()
    seen: set[str] = set()
    for rename in renames:
        current, new = rename.current_external_id, rename.new_external_id
        error = None
        if current == new:
            error = SAME_IDS
        elif current in seen or new in seen:
            error = DUPLICATE_IN_REQUEST
        elif DeprecatedExternalId.objects.filter(external_id=current).exists():
            error = CURRENT_IS_DEPRECATED
        elif (Profile.objects.filter(external_id=new).exists()
              or DeprecatedExternalId.objects.filter(external_id=new).exists()):
            error = NEW_TAKEN
        profile = None
        if error is None:
            profile = Profile.objects.select_for_update().filter(external_id=current).first()
            if profile is None:
                error = CURRENT_UNKNOWN
        if error is not None:
            result.errors.append([current, error])
            continue
        try:
            with transaction.atomic():
                DeprecatedExternalId.objects.create(profile=profile, external_id=current)
                profile.external_id = new
                profile.save(update_fields=["external_id", "updated_at"])
        except IntegrityError:  # taken meanwhile by a concurrent request
            result.errors.append([current, NEW_TAKEN])
            continue
        seen.update((current, new))
        result.renamed.append(current)
    return result


@dataclass
class RemoveResult:
    removed: list[str] = field(default_factory=list)
    errors: list[list[str]] = field(default_factory=list)


@transaction.atomic
def external_ids_remove(*, external_ids: list[str]) -> RemoveResult:
    """Forget deprecated external IDs for good; a primary or unknown ID is an error."""
    result = RemoveResult()
    for external_id in dict.fromkeys(external_ids):
        deleted, _ = DeprecatedExternalId.objects.filter(external_id=external_id).delete()
        if deleted:
            result.removed.append(external_id)
        else:
            result.errors.append([external_id, f"{external_id} {NOT_DEPRECATED}"])
    return result


# --- file exports ---------------------------------------------------------------------------


@transaction.atomic
def user_export_create(*, kind: str, fields_to_export: list[str], output_format: str,
                       origin: str, segment_id: str = "",
                       callback_endpoint: str = "") -> tuple[UserExport, str]:
    """Record an export and queue the writing of its file; return it and its signed URL.

    `origin` ("https://host") makes the URL the callback receives as the caller sees it.
    """
    export = UserExport(kind=kind, segment_id=segment_id, fields_to_export=fields_to_export,
                        output_format=output_format, callback_endpoint=callback_endpoint or "")
    export.full_clean()
    export.save()
    url = export_url(origin=origin, export=export)
    transaction.on_commit(lambda: user_export_task.delay(export.pk, url))
    return export, url
