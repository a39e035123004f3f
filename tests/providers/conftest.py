"""Local protocol servers for the provider adapters, one per test."""

from __future__ import annotations

import pytest

from messaging.channels.http import RetryPolicy
from tests.fakes.adm import FakeAdm
from tests.fakes.apns import FakeApns, make_p8
from tests.fakes.fcm import FakeFcm, make_service_account
from tests.fakes.tls import local_tls
from tests.fakes.twilio import FakeTwilio
from tests.fakes.webpush import FakePushService

# Quick retries keep the suite fast; Retry-After tests still see the real wait.
FAST = RetryPolicy(attempts=3, backoff=0.01, max_wait=3.0)


@pytest.fixture
def tls():
    return local_tls()


@pytest.fixture
def p8():
    return make_p8()


@pytest.fixture
def apns_fake(p8):
    with FakeApns(
        p8=p8, team_id="TEAM123456", key_id="KEY1234567", topic="com.example.app"
    ) as fake:
        yield fake


@pytest.fixture
def fcm_fake():
    with FakeFcm(make_service_account()) as fake:
        yield fake


@pytest.fixture
def adm_fake():
    with FakeAdm(client_id="amzn1.application-oa2-client.abc", client_secret="s3cret-adm") as fake:
        yield fake


@pytest.fixture
def push_service():
    with FakePushService() as fake:
        yield fake


@pytest.fixture
def twilio_fake():
    with FakeTwilio(account_sid="AC" + "1" * 32, auth_token="twilio-auth-token-0001") as fake:
        yield fake
