"""Creating and revoking REST API keys. The full key exists only in the return value."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record

from ..access.auth import forget_key
from ..models import ApiKey, Permission


def normalize_networks(networks: Iterable[str]) -> list[str]:
    """CIDRs (or single addresses) as canonical network strings; ValidationError if bad."""
    cleaned = []
    for raw in networks:
        raw = raw.strip()
        if not raw:
            continue
        try:
            cleaned.append(str(ipaddress.ip_network(raw, strict=False)))
        except ValueError:
            raise ValidationError(
                f"{raw!r} is not an IP address or network (e.g. 203.0.113.0/24)"
            ) from None
    return list(dict.fromkeys(cleaned))


@transaction.atomic
def api_key_create(
    *,
    name: str,
    permissions: Iterable[str],
    allowed_networks: Iterable[str] = (),
    created_by: AbstractBaseUser | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return it with the full key string, which is never stored."""
    permissions = list(dict.fromkeys(permissions))
    unknown = sorted(set(permissions) - set(Permission.values))
    if unknown:
        raise ValidationError(f"unknown permission: {', '.join(unknown)}")
    if not permissions:
        raise ValidationError("choose at least one permission")
    key, prefix, digest = ApiKey.generate()
    api_key = ApiKey(
        name=name.strip(), prefix=prefix, digest=digest, permissions=permissions,
        allowed_networks=normalize_networks(allowed_networks), created_by=created_by,
    )
    api_key.full_clean()
    api_key.save()
    audit_record(
        action="api_key.created", actor=created_by, target=api_key, target_id=prefix,
        changes={"permissions": permissions, "allowed_networks": api_key.allowed_networks},
    )
    # A request with this prefix may have cached a miss just before.
    transaction.on_commit(lambda: forget_key(prefix))
    forget_key(prefix)
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: AbstractBaseUser | None = None) -> ApiKey:
    """Revoke a key for good; requests with it are refused from now on."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(action="api_key.revoked", actor=by, target=api_key, target_id=api_key.prefix)
    # Cleared now and again after commit, so no request re-caches the key in between.
    forget_key(api_key.prefix)
    transaction.on_commit(lambda: forget_key(api_key.prefix))
    return api_key
