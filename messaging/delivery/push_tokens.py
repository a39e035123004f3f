"""Push tokens for a send: which a channel may use per profile, and which app each belongs to.

A token is tracked with the `app_id` of the app that registered it; the app's platform
decides which push channel may carry it (campaigns.models.PUSH_PLATFORMS). Tokens a
provider reported dead (`invalidated_at`) are never selected again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from campaigns.models import PUSH_PLATFORMS

from ..models import App, Profile, PushToken


def canonical_app_id(value: str) -> str:
    """An app_id as App.app_id spells it (lowercase UUID), or as given when not a UUID."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@dataclass
class UsableTokens:
    """The push tokens one channel may use, per profile (most recent first)."""

    usable: dict[int, list[str]]
    any_live: set[int]  # profiles with a live token of any app
    wanted: str  # what a usable token belongs to, for the skip reason

    def missing_reason(self, profile_pk: int) -> str:
        if profile_pk not in self.any_live:
            return "no push token"
        return f"no push token of {self.wanted}"


def usable_tokens(*, channel: str, app_id: str, profiles: list[Profile]) -> UsableTokens:
    """Live tokens of the channel's platform (and of app `app_id`, when the message names one).

    A token whose app is a registered App is usable when that App has the channel's
    platform (and is the message's app, when the message names one). A token of an app_id
    nobody registered (a demo install, tokens tracked before the Apps were set up) is usable
    only while no App of this platform exists: it then goes to the sandbox, which is all
    such an install has. Once the platform has an App, such a token cannot reach that App's
    provider, and sending it to the sandbox would report a delivery that never happened.
    """
    platform = PUSH_PLATFORMS[channel]
    registered = {str(api_id): p for api_id, p in App.objects.values_list("api_id", "platform")}
    platform_has_apps = platform in registered.values()
    named = canonical_app_id(app_id) if app_id else ""
    only_app = named if registered.get(named) == platform else ""
    usable: dict[int, list[str]] = {}
    any_live: set[int] = set()
    for profile_id, token_app_id, token in (
        PushToken.objects.filter(profile__in=profiles, invalidated_at__isnull=True)
        .order_by("-created_at", "-pk")
        .values_list("profile_id", "app_id", "token")
    ):
        any_live.add(profile_id)
        token_app_id = canonical_app_id(token_app_id)
        if only_app:
            ok = token_app_id == only_app
        elif token_app_id in registered:
            ok = registered[token_app_id] == platform
        else:
            ok = not platform_has_apps
        if ok:
            usable.setdefault(profile_id, []).append(token)
    label = App.Platform(platform).label
    article = "an" if label[0].upper() in "AEIOU" else "a"
    wanted = f"app {only_app}" if only_app else f"{article} {label} app"
    return UsableTokens(usable=usable, any_live=any_live, wanted=wanted)


def token_apps(*, channel: str, tokens: list[str]) -> dict[str, str | None]:
    """token → the app_id it was tracked with; None for a token of another platform's app
    (not ours to send). What the router needs to pick each token's provider."""
    found = dict(PushToken.objects.filter(token__in=tokens).values_list("token", "app_id"))
    platforms = {
        app.app_id: app.platform
        for app in App.objects.filter(api_id__in=[a for a in set(found.values()) if _is_uuid(a)])
    }
    wanted = PUSH_PLATFORMS.get(channel)
    result: dict[str, str | None] = {}
    for token in tokens:
        app_id = found.get(token, "")
        platform = platforms.get(app_id)
        result[token] = None if platform and wanted and platform != wanted else app_id
    return result
