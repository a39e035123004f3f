"""Fixtures of the web SDK tests: a web app with its SDK key, user tokens, a caller."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from messaging.models import App
from messaging.sdk.services import sdk_key_get_or_create, sdk_key_set_origins
from messaging.services.providers import app_create
from tests.messaging.conftest import campaign, make_profile, variation  # noqa: F401

SECRET = "customer-backend-secret-of-at-least-64-bytes-for-hs256-and-hs512!!"
ORIGIN = "https://shop.example"


def user_token(sub: str = "ada", *, exp_in: int = 300, secret: str = SECRET) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + exp_in}, secret, algorithm="HS256")


@pytest.fixture(autouse=True)
def _token_secret(settings):
    settings.CONTENT_CARD_JWT_SECRET = SECRET


@pytest.fixture
def web_app(db):
    return app_create(name="Shop website", platform=App.Platform.WEB)


@pytest.fixture
def sdk_key(web_app):
    key = sdk_key_get_or_create(app=web_app)
    return sdk_key_set_origins(sdk_key=key, origins=[ORIGIN])


@pytest.fixture
def sdk(client, sdk_key):
    """sdk(path, body, token="ada" | None | "<jwt>", origin=ORIGIN) → response, sent as the
    SDK sends it (text/plain JSON, the key in the body)."""

    def call(path, body=None, *, token="ada", origin=ORIGIN, key=None, **extra):
        payload = {"sdk_key": key or sdk_key.key, **(body or {})}
        if token is not None:
            payload["token"] = token if "." in token else user_token(token)
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        headers.update(extra)
        return client.post(path, json.dumps(payload), content_type="text/plain;charset=UTF-8",
                           **headers)

    return call
