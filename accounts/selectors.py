"""Reads: the team with their roles, the audit log filtered."""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import AuditEntry
from .roles import ROLES


def team_list() -> list:
    User = get_user_model()
    users = User.objects.order_by("username").prefetch_related(
        Prefetch("groups", queryset=Group.objects.filter(name__in=ROLES))
    )
    return list(users)


def audit_entry_list(
    *, action: str = "", actor: str = "", since: date | None = None, until: date | None = None
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if action:
        # `api_key` finds api_key.created and api_key.revoked; a full name finds just it.
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor_name__iexact=actor)
    zone = timezone.get_current_timezone()
    if since:
        entries = entries.filter(at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        entries = entries.filter(at__lte=datetime.combine(until, time.max, tzinfo=zone))
    return entries.order_by("-at", "-id")


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())
