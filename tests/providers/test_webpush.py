"""The web push adapter against a push service that checks VAPID and decrypts payloads."""

from __future__ import annotations

import json
import socket

import jwt
import pytest

from messaging.channels import webpush
from messaging.channels.base import Result

from .conftest import outgoing_maker

_item = outgoing_maker("w", payload={"alert": "Hi", "title": "T"})


@pytest.fixture
def vapid():
    return webpush.generate_vapid_keys()


@pytest.fixture
def adapter(connect, vapid):
    build = connect(
        webpush.WebPushAdapter,
        webpush.WebPushConfig,
        vapid_private_key=vapid[0],
        subject="mailto:ops@example.test",
    )
    return build()


def test_payload_is_encrypted_for_the_subscription_and_decrypts_to_the_notification(
    adapter, push_service, vapid
):
    token = push_service.subscribe()
    [outcome] = adapter.send_batch(
        [
            _item(
                token,
                alert="Back in stock",
                title="Shoes",
                custom_uri="https://shop.test/shoes",
                image_url="https://shop.test/i.png",
                large_image_url="https://shop.test/big.png",
                require_interaction=True,
                time_to_live=600,
                extra={"sku": "S1"},
                buttons=[{"text": "Buy", "action": "URI", "uri": "https://shop.test/buy"}],
            )
        ]
    )
    assert outcome.result == Result.DELIVERED, outcome.provider_response
    [(_, notification, headers)] = push_service.received
    assert notification == {
        "title": "Shoes",
        "body": "Back in stock",
        "icon": "https://shop.test/i.png",
        "image": "https://shop.test/big.png",
        "url": "https://shop.test/shoes",
        "requireInteraction": True,
        "data": {"sku": "S1"},
        "actions": [{"text": "Buy", "action": "URI", "uri": "https://shop.test/buy"}],
        "herald_message_id": "w" + "0" * 31,
    }
    assert headers["ttl"] == "600"
    assert headers["topic"] == "w" + "0" * 31
    assert headers["content-encoding"] == "aes128gcm"
    # The body on the wire is ciphertext, not the JSON.
    assert b"Back in stock" not in push_service.requests[0].body
    # VAPID: the JWT names the push service's origin and our contact; k is our public key.
    token_part = headers["authorization"].split("t=")[1].split(",")[0]
    claims = jwt.decode(token_part, options={"verify_signature": False})
    assert claims["aud"] == push_service.base_url
    assert claims["sub"] == "mailto:ops@example.test"
    assert headers["authorization"].endswith(f"k={vapid[1]}")


def test_gone_subscription_is_removed(adapter, push_service):
    alive, gone = push_service.subscribe(), push_service.subscribe()
    push_service.unsubscribe(gone)
    ok, dead = adapter.send_batch([_item(alive, 1), _item(gone, 2)])
    assert (ok.result, ok.invalidate_address) == (Result.DELIVERED, False)
    assert (dead.result, dead.invalidate_address) == (Result.BOUNCED, True)
    assert dead.provider_response.startswith("410")


def test_404_also_removes_and_malformed_subscription_is_dropped_without_a_request(
    adapter, push_service
):
    token = json.loads(push_service.subscribe())
    token["endpoint"] = push_service.base_url + "/nowhere/x"
    missing, garbage = adapter.send_batch([_item(json.dumps(token), 1), _item("not json", 2)])
    assert (missing.result, missing.invalidate_address) == (Result.BOUNCED, True)
    assert (garbage.result, garbage.invalidate_address) == (Result.BOUNCED, True)
    assert len(push_service.requests) == 1


def test_retry_on_5xx_and_none_on_4xx(adapter, push_service):
    token = push_service.subscribe()
    push_service.script.append((502, {}, b"bad gateway"))
    [outcome] = adapter.send_batch([_item(token, 1)])
    assert outcome.result == Result.DELIVERED
    assert len(push_service.received) == 1
    push_service.script.append((413, {}, b"too big"))
    [outcome] = adapter.send_batch([_item(token, 2)])
    assert outcome.result == Result.FAILED
    assert len(push_service.requests) == 3


def test_vapid_jwt_is_reused_per_origin(adapter, push_service):
    tokens = [push_service.subscribe() for _ in range(10)]
    adapter.send_batch([_item(t, i) for i, t in enumerate(tokens)])
    assert len({r.headers["authorization"] for r in push_service.requests}) == 1
    assert len(push_service.received) == 10


def test_generated_vapid_keys_match():
    private, public = webpush.generate_vapid_keys()
    assert webpush.vapid_public_key(private) == public
    assert len(webpush.b64url_decode(public)) == 65  # uncompressed P-256 point


def test_plain_http_endpoints_are_refused(adapter, push_service):
    token = json.loads(push_service.subscribe())
    token["endpoint"] = token["endpoint"].replace("https://", "http://")
    [outcome] = adapter.send_batch([_item(json.dumps(token))])
    assert (outcome.result, outcome.invalidate_address) == (Result.BOUNCED, True)
    assert "https" in outcome.provider_response
    assert push_service.requests == []


# --- SSRF guard: subscription endpoints come from API callers (/users/track) -----------------


def test_private_endpoint_is_refused_when_not_allowed(adapter, push_service, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    [outcome] = adapter.send_batch([_item(push_service.subscribe())])
    # Final, with the reason; the subscription is kept (an operator may allow the network).
    assert (outcome.result, outcome.invalidate_address) == (Result.FAILED, False)
    assert "refused" in outcome.provider_response
    assert "127.0.0.1" in outcome.provider_response
    assert push_service.requests == []


def test_name_resolving_to_a_private_address_is_refused(adapter, push_service, monkeypatch):
    resolve = socket.getaddrinfo

    def fake_resolve(host, port, *args, **kwargs):
        if host == "push.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_resolve)
    token = json.loads(push_service.subscribe())
    token["endpoint"] = "https://push.example.test/push/abc"
    [outcome] = adapter.send_batch([_item(json.dumps(token))])
    assert outcome.result == Result.FAILED
    assert "10.9.8.7" in outcome.provider_response


def test_endpoint_is_connected_at_the_checked_address(adapter, push_service, monkeypatch):
    # Connecting by name would resolve a second time (DNS rebinding): the guard's answer
    # must be the address used. "localhost" resolves once to 127.0.0.1, then not at all.
    resolve = socket.getaddrinfo
    lookups: list[str] = []

    def resolve_once(host, port, *args, **kwargs):
        if host in ("localhost", b"localhost"):  # anyio passes the IDNA-encoded bytes
            lookups.append(host)
            if len(lookups) > 1:
                raise socket.gaierror(socket.EAI_NONAME, "rebound")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_once)
    token = json.loads(push_service.subscribe())
    port = push_service.base_url.rsplit(":", 1)[1]
    token["endpoint"] = token["endpoint"].replace("127.0.0.1", "localhost")
    adapter.send_batch([_item(json.dumps(token))])
    # Reached over TLS verified for the name (SNI), with the name as Host, one lookup only.
    assert len(push_service.requests) == 1
    assert push_service.requests[0].headers["host"] == f"localhost:{port}"
    assert lookups == ["localhost"]


def test_httpx_does_not_log_capability_urls_at_info(adapter, push_service, caplog):
    # httpx logs every request line (the endpoint URL, a bearer capability) at INFO.
    token = push_service.subscribe()
    [outcome] = adapter.send_batch([_item(token)])
    assert outcome.result == Result.DELIVERED
    endpoint = json.loads(token)["endpoint"]
    leaked = [r for r in caplog.records if r.name.startswith(("httpx", "httpcore"))]
    assert leaked == []
    assert not any(endpoint.split("/push/")[1] in r.getMessage() for r in caplog.records)
