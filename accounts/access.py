"""Who may open which dashboard page: one decorator, asked by every view.

A view names the permission it needs to be read and, when a POST changes something, the
one it needs for that. Refusals are pages, not redirects: an account with no role sees
"ask an admin for a role", anyone else "you may not do this" (403 both).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .roles import ROLES


def has_role(user) -> bool:  # type: ignore[no-untyped-def]
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_herald_has_role", None)
    if cached is None:
        cached = user.groups.filter(name__in=ROLES).exists()
        user._herald_has_role = cached
    return cached


def refused(request: HttpRequest) -> HttpResponse:
    if not has_role(request.user):
        return render(request, "accounts/no_role.html", {}, status=403)
    return render(request, "accounts/forbidden.html", {}, status=403)


def permission_required(
    read: str | None, *, write: str | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Require `read` for every request (None: any role) and `write` as well for a POST."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            needed = [read] if read else []
            if write and request.method == "POST":
                needed.append(write)
            if not needed and not has_role(user):
                return refused(request)
            if needed and not user.has_perms(needed):
                return refused(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
