"""Web push: RFC 8030 delivery, RFC 8291 payload encryption, RFC 8292 VAPID.

The "token" of a web push subscription is the browser's PushSubscription as JSON:
`{"endpoint": "https://push.example/…", "keys": {"p256dh": "…", "auth": "…"}}`.
API callers set it (/users/track), so the endpoint passes the webhooks' SSRF guard.
Encryption uses `cryptography` directly (aes128gcm, one record), so no extra package.

Message ID: RFC 8030 has no idempotency key. Each push carries `Topic: <message_id>` (32
hex digits fit the header's 32 base64url characters), so a resend replaces a copy the
push service still holds undelivered, and the notification's JSON carries
`herald_message_id` (encrypted with it), so the service worker can drop a duplicate.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import http, ssrf
from .base import Outcome, Outgoing, Result
from .payload import copy_fields

DEFAULT_TTL = 28 * 24 * 3600  # Braze's web push default: 28 days
RECORD_SIZE = 4096
VAPID_LIFETIME = 12 * 3600  # RFC 8292 allows up to 24 hours


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def _public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def encrypt(plaintext: bytes, p256dh: str, auth: str, *, salt: bytes | None = None) -> bytes:
    """The RFC 8291 aes128gcm body for a subscription's keys (one record)."""
    ua_public_bytes = b64url_decode(p256dh)
    ua_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public_bytes)
    auth_secret = b64url_decode(auth)
    as_private = ec.generate_private_key(ec.SECP256R1())
    as_public_bytes = _public_bytes(as_private.public_key())
    shared = as_private.exchange(ec.ECDH(), ua_public)
    ikm = _hkdf(auth_secret, shared, b"WebPush: info\x00" + ua_public_bytes + as_public_bytes, 32)
    salt = salt or os.urandom(16)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    # 0x02 marks the last (only) record; no extra padding.
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    header = salt + struct.pack("!IB", RECORD_SIZE, len(as_public_bytes)) + as_public_bytes
    return header + ciphertext


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key PEM, public key as base64url for the browser)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, b64url(_public_bytes(private.public_key()))


def vapid_public_key(private_pem: str) -> str:
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return b64url(_public_bytes(private.public_key()))


def parse_subscription(token: str) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) from a subscription's JSON; ValueError when malformed."""
    data = json.loads(token)
    endpoint = str(data["endpoint"])
    keys = data["keys"]
    if urlsplit(endpoint).scheme != "https":
        raise ValueError("endpoint must be an https URL")  # RFC 8030 §8: push is HTTPS only
    return endpoint, keys["p256dh"], keys["auth"]


MESSAGE_ID_KEY = "herald_message_id"
# RFC 8030 §5.4: a Topic is at most 32 characters of the base64url alphabet.
_TOPIC_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def build_notification(payload: dict[str, Any], message_id: str = "") -> dict[str, Any]:
    """What the service worker receives, from one Braze `web_push` object (`message_id`:
    Herald's ID of this message)."""
    notification: dict[str, Any] = {
        "title": payload.get("title", ""),
        "body": payload.get("alert", ""),
    }
    if message_id:
        notification[MESSAGE_ID_KEY] = message_id
    copy_fields(
        payload,
        notification,
        (
            ("image_url", "icon"),
            ("large_image_url", "image"),
            ("custom_uri", "url"),
            ("require_interaction", "requireInteraction"),
            ("buttons", "actions"),
            ("extra", "data"),
        ),
    )
    return notification


@dataclass
class WebPushConfig:
    vapid_private_key: str  # PEM
    subject: str  # "mailto:…" or an https URL where the push service can reach the sender
    retry: http.RetryPolicy = field(default_factory=http.RetryPolicy)
    concurrency: int = 32
    # Subscriptions spread over push services (hosts): at most this many at once per host.
    per_host_concurrency: int = 8


def _host(token: str) -> str:
    try:
        return urlsplit(parse_subscription(token)[0]).netloc.lower()
    except (ValueError, KeyError, TypeError):
        return ""  # refused by _send_one without a request


class WebPushAdapter(http.HttpProviderAdapter):
    name = "webpush"

    def __init__(self, config: WebPushConfig, **shared: Any) -> None:
        super().__init__(config, **shared)
        self._per_host = http.KeyedLimit(config.per_host_concurrency)
        self.public_key = vapid_public_key(config.vapid_private_key)
        self._vapid: dict[str, tuple[str, float]] = {}  # audience → (jwt, issued at)
        self._vapid_lock = threading.Lock()

    def vapid_authorization(self, endpoint: str, now: float | None = None) -> str:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time() if now is None else now
        with self._vapid_lock:  # one signature per origin, whatever the batch's threads
            cached = self._vapid.get(audience)
            if cached is None or now - cached[1] >= VAPID_LIFETIME - 3600:
                token = jwt.encode(
                    {
                        "aud": audience,
                        "exp": int(now) + VAPID_LIFETIME,
                        "sub": self.config.subject,
                    },
                    self.config.vapid_private_key,
                    algorithm="ES256",
                )
                cached = self._vapid[audience] = (token, now)
        return f"vapid t={cached[0]}, k={self.public_key}"

    def _per_host_limit(self) -> dict[str, Any]:
        return {"key": lambda item: _host(item.address), "per_key": self._per_host}

    def _send_one(self, item: Outgoing, deadline: float | None) -> Outcome:
        try:
            endpoint, p256dh, auth = parse_subscription(item.address)
            notification = build_notification(item.payload, item.message_id)
            body = encrypt(json.dumps(notification).encode(), p256dh, auth)
        except (ValueError, KeyError, TypeError) as exc:
            # A subscription we cannot even encrypt for will never work: forget it.
            return Outcome(
                Result.BOUNCED,
                provider_response=f"invalid subscription: {exc!r}"[:300],
                invalidate_address=True,
            )
        try:
            address = ssrf.check_target(endpoint)
        except ssrf.TargetRefused as exc:
            # Final, but the subscription is kept: an operator may allow its network.
            return Outcome(Result.FAILED, provider_response=str(exc)[:500])
        pinned_url, host_header, extensions = ssrf.pinned_request(endpoint, address)
        ttl = item.payload.get("time_to_live")
        headers = {
            "host": host_header["Host"],
            "ttl": str(int(ttl) if isinstance(ttl, int) else DEFAULT_TTL),
            "content-encoding": "aes128gcm",
            "content-type": "application/octet-stream",
            "urgency": "normal",
        }
        if 0 < len(item.message_id) <= 32 and set(item.message_id) <= _TOPIC_CHARS:
            headers["topic"] = item.message_id

        def send() -> httpx.Response:
            headers["authorization"] = self.vapid_authorization(endpoint)
            return self._client.post(
                pinned_url,
                content=body,
                headers=headers,
                extensions=extensions,
                timeout=self._timeout,
            )

        return http.send_with_retry(send, self._interpret, self.config.retry, deadline)

    @staticmethod
    def _interpret(response: httpx.Response) -> Outcome:
        if response.status_code in (200, 201, 202):
            return Outcome(
                Result.DELIVERED,
                provider_response=http.short(response),
                details={"location": response.headers.get("location", "")},
            )
        # RFC 8030 §7.3: 404/410 mean the subscription expired or was removed.
        return http.refused(
            response, {"status": response.status_code}, dead=response.status_code in (404, 410)
        )
