"""Who calls the SDK endpoints: which web app (its public key), from where, for whom.

- The web app is named by its public `sdk_key` in the body (a key in a header would cost
  every call a CORS preflight). The key holds no REST permission: it only says which app.
- A browser's `Origin` must be one of the app's allowed origins (or Herald's own), checked
  before anything is read or written (the CORS headers themselves: messaging.sdk.cors).
  A caller without an `Origin` (server code, curl) is let through: it could claim any
  Origin anyway, and what it may write for a user is decided by the user's token.
- Rate limits count per key (scope "sdk") and per client address ("sdk.address"), so one
  busy site does not starve another and one address cannot spend a site's allowance.
- A user is proved by a token signed by the customer's backend (messaging.access.
  user_tokens): without a valid one nothing is read or written for anybody.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest

from config.addresses import client_address
from config.api import ApiError

from ..access import ratelimit
from ..access.cache_outage import CacheUnavailable, cache_call
from ..access.user_tokens import user_token_subject
from ..models import SdkKey
from ..models.sdk import SDK_KEY_PREFIX

SDK_KEY_CACHE_SECONDS = 60
KEY_SCOPE = "sdk"
ADDRESS_SCOPE = "sdk.address"


@dataclass(frozen=True)
class SdkCaller:
    """A request's web app, once its key, origin and rate limits have been checked."""

    app_pk: int
    app_id: str  # App.app_id (the UUID text message objects name)
    key: str
    rate_headers: dict[str, str]

    def external_id(self, token: str) -> str:
        """The external_id the user's signed token names, or a 401."""
        return user_token_subject(token, headers=self.rate_headers)


def _cache_key(key: str) -> str:
    return f"sdkkey:{key}"


def forget_sdk_key(key: str) -> None:
    """Drop a key's cached lookup (its origins changed, or it was rotated)."""
    try:
        cache_call("forgetting a cached SDK key", lambda: cache.delete(_cache_key(key)),
                   always_try=True)
    except CacheUnavailable:
        pass  # the entry expires within SDK_KEY_CACHE_SECONDS


def _row(key: str) -> dict:
    found = (SdkKey.objects.filter(key=key, app__platform="web")
             .values("app_id", "app__api_id", "allowed_origins").first())
    if found is None:
        return {}
    return {"app_pk": found["app_id"], "app_id": str(found["app__api_id"]),
            "origins": list(found["allowed_origins"])}


def _lookup(key: str) -> dict:
    try:
        cached = cache_call("an SDK key lookup", lambda: cache.get(_cache_key(key)))
    except CacheUnavailable:
        return _row(key)
    if cached is not None:
        return cached
    row = _row(key)  # a miss is cached too ({}), so made-up keys cost no queries
    try:
        cache_call("caching an SDK key lookup",
                   lambda: cache.set(_cache_key(key), row, SDK_KEY_CACHE_SECONDS))
    except CacheUnavailable:
        pass
    return row


def sdk_caller(request: HttpRequest, sdk_key: str) -> SdkCaller:
    """The web app calling, or the refusal: 429 (address or key over its limit), 401
    (unknown key), 403 (a browser on an origin the app does not allow)."""
    ratelimit.hit(key=f"ip:{client_address(request)}", scope=ADDRESS_SCOPE)
    row = _lookup(sdk_key) if sdk_key.startswith(SDK_KEY_PREFIX) else {}
    if not row:
        raise ApiError(401, "Invalid SDK key",
                       ["sdk_key: no web app has this key (Settings › Apps › Try the SDK)"])
    origin = request.headers.get("Origin")
    # Herald's own pages (the dashboard's "Try the SDK") are always allowed.
    own = f"{request.scheme}://{request.get_host()}"
    if origin is not None and origin not in row["origins"] and origin != own:
        raise ApiError(403, "Origin not allowed",
                       [f"Origin: {origin[:100]} is not an allowed origin of this web app"])
    headers = ratelimit.hit(key=sdk_key, scope=KEY_SCOPE)
    return SdkCaller(app_pk=row["app_pk"], app_id=row["app_id"], key=sdk_key,
                     rate_headers=headers)
