"""Local protocol servers for the provider adapters, one per test, and builders for what
the provider tests repeat: adapters pointed at the fakes, Outgoing items, an APNs app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from campaigns.models import Channel
from messaging.channels import adm, apns, fcm, http, http2, twilio
from messaging.channels.base import Outgoing
from messaging.channels.http import RetryPolicy
from messaging.models import App, Profile, PushToken
from messaging.services.providers import app_create, channel_config_save
from tests.fakes import apns as fake_apns
from tests.fakes.adm import FakeAdm
from tests.fakes.apns import FakeApns, make_p8
from tests.fakes.fcm import FakeFcm, make_service_account
from tests.fakes.tls import local_tls
from tests.fakes.twilio import FakeTwilio
from tests.fakes.webpush import FakePushService

# Quick retries keep the suite fast; Retry-After tests still see the real wait.
FAST = RetryPolicy(attempts=3, backoff=0.01, max_wait=3.0)
# Settings → Channels as a developer fills it in for the APNs fake.
APNS_OPTIONS = {"team_id": fake_apns.TEAM_ID, "key_id": fake_apns.KEY_ID, "topic": fake_apns.TOPIC}
# The SMS subscription group the Twilio fake's sender number belongs to.
SMS_GROUP = "5d3b4a8c-0000-4000-8000-000000000001"


def outgoing_maker(
    prefix: str, address: str = "", payload: dict[str, Any] | None = None
) -> Callable[..., Outgoing]:
    """A provider test's `_item(address, n, **payload)`: message IDs unique per `n`, the
    given default payload when none is passed."""

    def make(address: str = address, n: int = 0, **fields: Any) -> Outgoing:
        return Outgoing(
            message_id=f"{prefix}{n:031d}",
            address=address,
            payload=fields or dict(payload or {}),
            app_id="app",
        )

    return make


@pytest.fixture
def tls():
    return local_tls()


@pytest.fixture
def http_client(tls):
    """A shared HTTP client as the registry builds it, trusting the fakes' TLS."""
    shared = http.build_client(verify=tls.client_context())
    yield shared
    http.close_client(shared)


@pytest.fixture
def http2_client(tls):
    """The HTTP/2 client APNs goes through, as the registry builds it."""
    shared = http2.build_client(verify=tls.client_context())
    yield shared
    http2.close_client(shared)


@pytest.fixture
def connect(http_client, http2_client):
    """`connect(Adapter, Config, **defaults)` → `build(**overrides)`: adapters that talk to
    the fakes (through the shared clients trusting their TLS, quick retries).
    `build(limiter=…)` hands the adapter a rate limiter."""

    def bind(adapter_class: type, config_class: type, **defaults: Any) -> Callable[..., Any]:
        def build(*, limiter: Any = None, **overrides: Any) -> Any:
            fields = {"retry": FAST, **defaults, **overrides}
            client = http2_client if adapter_class is apns.ApnsAdapter else http_client
            return adapter_class(config_class(**fields), client=client, limiter=limiter)

        return build

    return bind


@pytest.fixture
def p8():
    return make_p8()


@pytest.fixture
def apns_fake(p8):
    with FakeApns(p8=p8) as fake:
        yield fake


@pytest.fixture
def connect_apns(connect, apns_fake, p8):
    return connect(
        apns.ApnsAdapter,
        apns.ApnsConfig,
        **APNS_OPTIONS,
        private_key=p8,
        base_url=apns_fake.base_url,
    )


@pytest.fixture
def fcm_fake():
    with FakeFcm(make_service_account()) as fake:
        yield fake


@pytest.fixture
def connect_fcm(connect, fcm_fake):
    return connect(
        fcm.FcmAdapter,
        fcm.FcmConfig,
        service_account=fcm_fake.account,
        base_url=fcm_fake.base_url,
    )


@pytest.fixture
def adm_fake():
    with FakeAdm(client_id="amzn1.application-oa2-client.abc", client_secret="s3cret-adm") as fake:
        yield fake


@pytest.fixture
def connect_adm(connect, adm_fake):
    return connect(
        adm.AdmAdapter,
        adm.AdmConfig,
        client_id=adm_fake.client_id,
        client_secret=adm_fake.client_secret,
        base_url=adm_fake.base_url,
    )


@pytest.fixture
def push_service():
    with FakePushService() as fake:
        yield fake


@pytest.fixture
def twilio_fake():
    with FakeTwilio(account_sid="AC" + "1" * 32, auth_token="twilio-auth-token-0001") as fake:
        yield fake


@pytest.fixture
def connect_twilio(connect, twilio_fake):
    return connect(
        twilio.TwilioAdapter,
        twilio.TwilioConfig,
        account_sid=twilio_fake.account_sid,
        auth_token=twilio_fake.auth_token,
        senders={SMS_GROUP: "+15550001111"},
        base_url=twilio_fake.base_url,
    )


def apns_channel_save(app: Any, p8: str, *, base_url: str = "", **options: str) -> Any:
    """Save the APNs provider of an app's iOS push channel, credentials as the fake expects."""
    return channel_config_save(
        app=app,
        channel=Channel.APPLE_PUSH,
        provider="apns",
        options={**APNS_OPTIONS, **options},
        secrets={"private_key": p8},
        base_url=base_url,
    )


def ios_app_with_token(p8: str, *, base_url: str = "", token: str = "ab" * 32) -> Any:
    """An iOS app with APNs configured and a profile "alice" holding one push token for it."""
    app = app_create(name="Shop iOS", platform=App.Platform.IOS)
    apns_channel_save(app, p8, base_url=base_url)
    profile = Profile.objects.create(external_id="alice")
    PushToken.objects.create(profile=profile, app_id=app.app_id, token=token)
    return app


@pytest.fixture(autouse=True)
def _local_push_services_allowed(settings):
    """The fakes listen on 127.0.0.1, which the SSRF guard refuses unless allowed."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
