"""A push service (RFC 8030) that checks VAPID (RFC 8292) and decrypts RFC 8291 payloads."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import struct
import time

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .server import Answer, Fake, Request, json_answer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """The user agent's side of RFC 8291 (aes128gcm, RFC 8188)."""
    salt, record_size, id_length = body[:16], *struct.unpack("!IB", body[16:21])
    as_public_bytes = body[21 : 21 + id_length]
    ciphertext = body[21 + id_length :]
    if record_size < 18 or len(ciphertext) > record_size:
        raise ValueError("bad record size")
    as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public_bytes)
    ua_public_bytes = ua_private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = ua_private.exchange(ec.ECDH(), as_public)
    ikm = _hkdf(auth_secret, shared, b"WebPush: info\x00" + ua_public_bytes + as_public_bytes, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    plaintext = padded.rstrip(b"\x00")
    if not plaintext.endswith(b"\x02"):
        raise ValueError("missing last-record delimiter")
    return plaintext[:-1]


class FakePushService(Fake):
    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self.received: list[tuple[str, dict, dict]] = []  # (subscription id, notification, headers)
        self.vapid_keys_seen: set[str] = set()

    def subscribe(self) -> str:
        """A new browser subscription, as the PushSubscription JSON the site would store."""
        sub_id = secrets.token_urlsafe(12)
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self.subscriptions[sub_id] = (private, auth)
        public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return json.dumps(
            {
                "endpoint": f"{self.base_url}/push/{sub_id}",
                "keys": {"p256dh": _b64(public), "auth": _b64(auth)},
            }
        )

    def unsubscribe(self, token: str) -> None:
        self.subscriptions.pop(json.loads(token)["endpoint"].rsplit("/", 1)[1], None)

    def respond(self, request: Request) -> Answer:
        match = re.fullmatch(r"/push/([^/]+)", request.path)
        if not match or request.method != "POST":
            return json_answer(404, {"error": "not found"})
        auth = request.headers.get("authorization", "")
        found = re.fullmatch(r"vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)", auth)
        if not found:
            return json_answer(401, {"error": "VAPID authorization required"})
        token, key = found.groups()
        try:
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            claims = jwt.decode(token, public, algorithms=["ES256"], audience=self.base_url)
        except (jwt.PyJWTError, ValueError):
            return json_answer(403, {"error": "invalid VAPID token"})
        if not claims.get("sub") or claims["exp"] > time.time() + 24 * 3600:
            return json_answer(403, {"error": "VAPID claims not acceptable"})
        if request.headers.get("content-encoding") != "aes128gcm" or "ttl" not in request.headers:
            return json_answer(400, {"error": "aes128gcm and TTL required"})
        subscription = self.subscriptions.get(match.group(1))
        if subscription is None:
            return json_answer(410, {"error": "subscription expired or unsubscribed"})
        if len(request.body) > 4096:
            return json_answer(413, {"error": "payload too large"})
        try:
            plaintext = decrypt(request.body, *subscription)
            notification = json.loads(plaintext)
        except (ValueError, Exception):  # noqa: BLE001 — any decryption failure is a 400
            return json_answer(400, {"error": "payload could not be decrypted"})
        self.vapid_keys_seen.add(key)
        self.received.append((match.group(1), notification, request.headers))
        return 201, {"location": f"{self.base_url}/message/{secrets.token_hex(8)}"}, b""
