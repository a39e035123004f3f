"""Receivers: audit logins and failed logins, keep the roles' permissions complete."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from django_otp import user_has_device

from .audit import audit_record
from .middleware import HAS_DEVICE_SESSION_KEY
from .roles import roles_grant


@receiver(user_logged_in, dispatch_uid="accounts.login")
def _logged_in(sender, request, user, **kwargs) -> None:  # type: ignore[no-untyped-def]
    audit_record(action="login.succeeded", actor=user, request=request)
    if request is not None and hasattr(request, "session"):
        # Asked once per login, not per request (TwoFactorMiddleware reads it).
        request.session[HAS_DEVICE_SESSION_KEY] = user_has_device(user, confirmed=True)


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
    # Only the name that was tried: Django already replaced the password with stars.
    audit_record(
        action="login.failed", actor=None, request=request,
        actor_name=str(credentials.get("username", ""))[:150],
    )


@receiver(post_migrate, dispatch_uid="accounts.roles")
def _grant_roles(sender, **kwargs) -> None:  # type: ignore[no-untyped-def]
    # Permissions are created by post_migrate too (one receiver per app, contenttypes and
    # auth first): a model added later reaches its roles here, once its permissions exist.
    if sender.name == "accounts":
        roles_grant(group_model=Group, permission_model=Permission)
