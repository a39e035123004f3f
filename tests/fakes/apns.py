"""An APNs provider API: HTTP/2 only, ES256 provider tokens checked like Apple does."""

from __future__ import annotations

import re
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .server import Answer, Fake, Request, json_answer

TOKEN_RE = re.compile(r"^[0-9a-f]{64}$")


def make_p8() -> str:
    """A .p8 signing key as Apple hands it out (PKCS#8 PEM, P-256)."""
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


# The credentials a FakeApns expects unless told otherwise; tests configure APNs with them.
TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"
TOPIC = "com.example.app"


class FakeApns(Fake):
    alpn = ["h2"]

    def __init__(
        self, *, p8: str, team_id: str = TEAM_ID, key_id: str = KEY_ID, topic: str = TOPIC
    ) -> None:
        super().__init__()
        key = serialization.load_pem_private_key(p8.encode(), password=None)
        self.public_key = key.public_key()
        self.team_id, self.key_id, self.topic = team_id, key_id, topic
        self.dead_tokens: set[str] = set()
        self.delivered: list[tuple[str, dict]] = []  # (device token, payload)
        self.max_token_age = 3600.0
        self._verified: dict[str, tuple[dict, dict]] = {}

    def _reason(self, status: int, reason: str, **extra) -> Answer:
        return json_answer(status, {"reason": reason, **extra})

    def respond(self, request: Request) -> Answer:
        match = re.fullmatch(r"/3/device/([^/]+)", request.path)
        if request.method != "POST" or not match:
            return self._reason(405 if match else 404, "MethodNotAllowed" if match else "BadPath")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # Like APNs, verify a provider token once, then recognise it (it is reused for an hour).
        verified = self._verified.get(token)
        if verified is None:
            try:
                verified = (
                    jwt.get_unverified_header(token),
                    jwt.decode(
                        token,
                        self.public_key,
                        algorithms=["ES256"],
                        options={"verify_aud": False, "require": ["iss", "iat"]},
                    ),
                )
            except jwt.PyJWTError:
                return self._reason(403, "InvalidProviderToken")
            self._verified[token] = verified
        header, claims = verified
        if scheme != "bearer" or header.get("kid") != self.key_id or claims["iss"] != self.team_id:
            return self._reason(403, "InvalidProviderToken")
        if time.time() - claims["iat"] > self.max_token_age:
            return self._reason(403, "ExpiredProviderToken")
        if request.headers.get("apns-topic") != self.topic:
            return self._reason(
                400,
                "DeviceTokenNotForTopic" if request.headers.get("apns-topic") else "MissingTopic",
            )
        if len(request.body) > 4096:
            return self._reason(413, "PayloadTooLarge")
        try:
            payload = request.json()
        except ValueError:
            return self._reason(400, "PayloadEmpty")
        device = match.group(1)
        if not TOKEN_RE.match(device):
            return self._reason(400, "BadDeviceToken")
        if device in self.dead_tokens:
            return self._reason(410, "Unregistered", timestamp=int(time.time() * 1000))
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4())
        self.delivered.append((device, payload))
        return 200, {"apns-id": apns_id}, b""
