"""IP allowlist behind a reverse proxy: X-Forwarded-For is believed only from TRUSTED_PROXIES."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from django.urls import reverse

import config.urls  # noqa: F401  (registers every endpoint)
from messaging.access.networks import client_address
from messaging.models import ApiKey

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"           # the TLS terminator in front of gunicorn
EDGE = "192.0.2.10"          # an outer load balancer in front of PROXY
CLIENT = "203.0.113.9"       # the customer's backend, allowlisted
STRANGER = "198.51.100.7"    # anyone else


def track(client, key: str, remote: str, forwarded: str | None = None):
    headers = {"Authorization": f"Bearer {key}"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.post("/users/track", json.dumps({"attributes": [
        {"external_id": "proxy-user", "first_name": "Ada"}]}),
        content_type="application/json", headers=headers, REMOTE_ADDR=remote)


def address(remote: str, forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


@pytest.fixture
def allowlisted(make_api_key):
    return make_api_key(allowed_networks=["203.0.113.0/24", "2001:db8:1::/48"])[1]


def test_spoofed_header_from_untrusted_peer_is_ignored(client, allowlisted, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # A stranger connecting directly claims to be the allowlisted client.
    response = track(client, allowlisted, STRANGER, forwarded=CLIENT)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid whitelisted IPs"
    assert address(STRANGER, CLIENT) == STRANGER


def test_header_ignored_when_no_proxy_is_trusted(client, allowlisted, settings):
    settings.TRUSTED_PROXIES = []
    response = track(client, allowlisted, PROXY, forwarded=CLIENT)
    assert response.status_code == 401
    assert address(PROXY, CLIENT) == PROXY


def test_allowed_client_via_trusted_proxy_passes(client, allowlisted, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = track(client, allowlisted, PROXY, forwarded=CLIENT)
    assert response.status_code == 201, response.content
    assert response.json()["attributes_processed"] == 1


def test_stranger_via_trusted_proxy_is_refused(client, allowlisted, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = track(client, allowlisted, PROXY, forwarded=STRANGER)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid whitelisted IPs"


def test_client_cannot_prepend_a_spoofed_address(client, allowlisted, settings):
    # The proxy appends the real peer; whatever the client sent sits to its left.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = track(client, allowlisted, PROXY, forwarded=f"{CLIENT}, {STRANGER}")
    assert response.status_code == 401
    assert address(PROXY, f"{CLIENT}, {STRANGER}") == STRANGER
    # Nor prepend garbage to force the fallback to the (trusted) proxy's address.
    assert address(PROXY, f"not-an-ip, {STRANGER}") == STRANGER


def test_chain_of_two_trusted_proxies(client, allowlisted, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.0/24"]
    forwarded = f"{STRANGER}, {CLIENT}, {EDGE}"
    assert address(PROXY, forwarded) == CLIENT
    assert track(client, allowlisted, PROXY, forwarded=forwarded).status_code == 201
    # Only the inner proxy trusted: the outer hop is taken for the client and refused.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(PROXY, forwarded) == EDGE
    assert track(client, allowlisted, PROXY, forwarded=forwarded).status_code == 401


def test_every_hop_trusted_takes_the_leftmost(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(PROXY, "10.1.2.3, 10.0.0.9") == "10.1.2.3"


def test_ipv6_proxy_and_client(client, allowlisted, settings):
    settings.TRUSTED_PROXIES = ["fd00::/8"]
    assert address("fd00::5", "2001:db8:1::42") == "2001:db8:1::42"
    assert track(client, allowlisted, "fd00::5", forwarded="2001:DB8:1::42").status_code == 201
    assert track(client, allowlisted, "fd00::5", forwarded="2001:db8:2::42").status_code == 401
    # An untrusted IPv6 peer cannot use the header either.
    assert track(client, allowlisted, "2001:db8:2::1", forwarded="2001:db8:1::42").status_code \
        == 401


def test_ipv4_mapped_peer_matches_ipv4_networks(client, allowlisted, settings):
    # gunicorn bound to [::] reports IPv4 peers as ::ffff:a.b.c.d.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(f"::ffff:{PROXY}", CLIENT) == CLIENT
    assert address(f"::ffff:{CLIENT}") == CLIENT
    assert track(client, allowlisted, f"::ffff:{PROXY}", forwarded=CLIENT).status_code == 201


@pytest.mark.parametrize("forwarded", [
    "", "   ", "not-an-ip", f"{CLIENT},", f"{CLIENT}, , 10.0.0.7", "203.0.113.9:443",
    "999.1.1.1", "unknown", "203.0.113.9/24", "[2001:db8:1::42]",
])
def test_malformed_header_falls_back_to_the_peer(client, allowlisted, settings, forwarded):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(PROXY, forwarded) == PROXY
    response = track(client, allowlisted, PROXY, forwarded=forwarded)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid whitelisted IPs"


def test_trusted_proxy_without_header_is_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert address(PROXY) == PROXY


def test_dashboard_key_allowlist_is_enforced_behind_the_proxy(developer_client, client,
                                                              settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    bad = developer_client.post(reverse("messaging:api-key-list"), {
        "name": "shop", "permissions": ["users.track"],
        "allowed_networks": "203.0.113.0/24\n10.0.0.0/33"})
    assert bad.status_code == 200 and "not an IP address" in bad.content.decode()
    assert not ApiKey.objects.exists()

    created = developer_client.post(reverse("messaging:api-key-list"), {
        "name": "shop", "permissions": ["users.track"],
        "allowed_networks": "203.0.113.0/24, 2001:db8:1::/48"})
    assert created.status_code == 200
    key = created.context["new_key"]
    assert ApiKey.objects.get().allowed_networks == ["203.0.113.0/24", "2001:db8:1::/48"]
    assert track(client, key, PROXY, forwarded=CLIENT).status_code == 201
    assert track(client, key, PROXY, forwarded=STRANGER).status_code == 401
    assert track(client, key, STRANGER, forwarded=CLIENT).status_code == 401
