"""User export files (/users/export/segment, /users/export/global_control_group).

Braze writes an export to the customer's cloud storage and answers with an
`object_prefix`; without storage credentials it answers a `url` to download. Herald always
writes the file to its own storage (STORAGES["default"]: the local disk by default, any
Django storage backend in production) and answers a URL signed with SECRET_KEY that
expires after EXPORT_URL_MAX_AGE. The file is JSON lines, one user object per line (the
shape of /users/export/ids), in a zip (`<object_prefix>/0.txt`) or gzipped.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zipfile

import httpx
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from analytics.selectors import segment_profile_ids

from .channels.ssrf import TargetRefused, check_target, pinned_request
from .models import Profile, UserExport
from .selectors import export_users

log = logging.getLogger(__name__)

_SALT = "herald.user-export"


def export_max_age() -> int:
    return int(getattr(settings, "EXPORT_URL_MAX_AGE", 86_400))


def export_url(*, origin: str, export: UserExport) -> str:
    """The signed download URL of an export; `origin` is "https://host" as the caller saw it."""
    token = signing.dumps(export.object_prefix, salt=_SALT)
    return origin.rstrip("/") + reverse("messaging:user-export-file", args=[token])


def export_from_token(token: str) -> UserExport | None:
    """The export a signed URL names, or None when the signature is wrong or expired."""
    try:
        prefix = signing.loads(token, salt=_SALT, max_age=export_max_age())
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    return UserExport.objects.filter(object_prefix=prefix).first()


def _profiles(export: UserExport) -> list[Profile]:
    if export.kind == UserExport.Kind.GLOBAL_CONTROL_GROUP:
        return list(Profile.objects.filter(in_global_control_group=True).order_by("pk"))
    ids = segment_profile_ids(segment_id=export.segment_id)
    return list(Profile.objects.filter(pk__in=ids).order_by("pk")) if ids is not None else []


def export_file_name(export: UserExport) -> str:
    suffix = "zip" if export.output_format == "zip" else "json.gz"
    return f"user-exports/{export.object_prefix}.{suffix}"


def user_export_write(*, export: UserExport) -> UserExport:
    """Write the file of an export and mark it done (safe to run twice: done is done)."""
    if export.status == UserExport.Status.DONE:
        return export
    profiles = _profiles(export)
    data = "".join(json.dumps(user, ensure_ascii=False) + "\n"
                   for user in export_users(profiles=profiles,
                                            fields=set(export.fields_to_export))).encode()
    if export.output_format == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{export.object_prefix}/0.txt", data)
        content = buffer.getvalue()
    else:
        content = gzip.compress(data)
    export.file_name = default_storage.save(export_file_name(export), ContentFile(content))
    export.users = len(profiles)
    export.status = UserExport.Status.DONE
    export.completed_at = timezone.now()
    export.save(update_fields=["file_name", "users", "status", "completed_at"])
    return export


def export_callback(*, export: UserExport, url: str) -> None:
    """POST Braze's callback body to the caller's `callback_endpoint`, through the SSRF
    guard of webhooks (a private address needs WEBHOOK_ALLOWED_NETWORKS); failures are
    logged, never retried: the file is there either way."""
    body = {"success": export.status == UserExport.Status.DONE, "message": "success",
            "url": url, "time": export.completed_at.isoformat() if export.completed_at else None}
    try:
        address = check_target(export.callback_endpoint)
        target, headers, extensions = pinned_request(export.callback_endpoint, address)
        with httpx.Client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                          follow_redirects=False) as client:
            client.send(client.build_request("POST", target, json=body, headers=headers,
                                             extensions=extensions))
    except (TargetRefused, httpx.HTTPError) as exc:
        log.warning("export %s: callback failed: %s", export.object_prefix, exc)
