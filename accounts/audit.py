"""Writing the audit log: one call per security-relevant action, from the service doing it.

Services know who acts (`by`) but not the HTTP request; the address comes from the request
being served (AuditContextMiddleware), so a command or a worker records none.
"""

from __future__ import annotations

import contextvars
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.http import HttpRequest

from config.addresses import client_address, parse_ip

from .models import AuditEntry

_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "audit_request_ip", default=None
)


def request_ip_set(request: HttpRequest | None) -> contextvars.Token:
    return _request_ip.set(_address(request) if request is not None else None)


def request_ip_reset(token: contextvars.Token) -> None:
    _request_ip.reset(token)


def _address(request: HttpRequest) -> str | None:
    address = parse_ip(client_address(request))
    return str(address) if address is not None else None


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None,
    target: models.Model | None = None,
    target_id: str = "",
    target_label: str = "",
    changes: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Record one action. `changes` maps a field to what it became (or [before, after]);
    callers pass names and flags for secrets, never their values."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    ip = _address(request) if request is not None else _request_ip.get()
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        ip=ip,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target_id or (target.pk if target is not None else ""))[:64],
        target_label=str(target_label or (target if target is not None else ""))[:200],
        changes=changes or {},
    )
