"""Changing who holds which role, and the account-wide security policy."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db import transaction

from .audit import audit_record
from .models import SecurityPolicy
from .roles import ADMIN, ROLES


def role_of(user: AbstractBaseUser) -> str:
    """The user's role name, or "" for none (a superuser counts as Admin)."""
    names = [group.name for group in user.groups.all() if group.name in ROLES]
    for role in ROLES:  # the strongest first, should an account hold two
        if role in names:
            return role
    return ADMIN if user.is_superuser else ""


@transaction.atomic
def role_set(*, user: AbstractBaseUser, role: str, by: AbstractBaseUser | None) -> str:
    """Give `user` exactly one role ("" for none). Only Admins are staff (Django's admin)."""
    if role and role not in ROLES:
        raise ValidationError(f"unknown role {role!r}")
    User = get_user_model()
    # Lock the rows of every Admin so two demotions at once cannot leave none.
    admins = list(
        User.objects.select_for_update().filter(groups__name=ADMIN, is_active=True)
        .values_list("pk", flat=True)
    )
    before = role_of(user)
    if before == role:
        return role
    if before == ADMIN and role != ADMIN and set(admins) <= {user.pk} and not (
        User.objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk).exists()
    ):
        raise ValidationError("This is the last Admin: make someone else an Admin first.")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    if role:
        user.groups.add(Group.objects.get(name=role))
    staff = role == ADMIN or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    audit_record(
        action="role.changed", actor=by, target=user, target_label=user.get_username(),
        changes={"role": [before, role]},
    )
    return role


def two_factor_required() -> bool:
    # NOTE: read on every dashboard request of an account without an authenticator (one
    # primary-key lookup), so an Admin's switch holds at once for sessions already open.
    return SecurityPolicy.objects.filter(pk=1, require_two_factor=True).exists()


@transaction.atomic
def security_policy_set(*, require_two_factor: bool, by: AbstractBaseUser | None) -> SecurityPolicy:
    policy = SecurityPolicy.current()
    if policy.require_two_factor != require_two_factor:
        before = policy.require_two_factor
        policy.require_two_factor = require_two_factor
        policy.save(update_fields=["require_two_factor"])
        audit_record(
            action="security_policy.changed", actor=by, target=policy,
            changes={"require_two_factor": [before, require_two_factor]},
        )
    return policy
