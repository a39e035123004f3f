"""FCM HTTP v1 and Google's OAuth 2 token endpoint (JWT-bearer grant, RFC 7523)."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .server import Answer, Fake, Request, json_answer

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def make_service_account(project_id: str = "herald-test") -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "client_email": f"herald@{project_id}.iam.gserviceaccount.com",
        "token_uri": "",  # filled with the fake's URL
    }


def _error(status: int, text: str, message: str, error_code: str | None = None) -> Answer:
    error = {"code": status, "message": message, "status": text}
    if error_code:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        ]
    return json_answer(status, {"error": error})


class FakeFcm(Fake):
    def __init__(self, service_account: dict) -> None:
        super().__init__()
        self.account = service_account
        self.public_key = serialization.load_pem_private_key(
            service_account["private_key"].encode(), password=None
        ).public_key()
        self.tokens: dict[str, float] = {}  # access token → expiry (epoch)
        self.token_lifetime = 3600
        self.token_requests = 0
        self.dead_tokens: set[str] = set()
        self.delivered: list[dict] = []

    def start(self) -> FakeFcm:
        super().start()
        self.account["token_uri"] = f"{self.base_url}/token"
        return self

    def respond(self, request: Request) -> Answer:
        if request.path == "/token":
            return self._token(request)
        match = re.fullmatch(r"/v1/projects/([^/]+)/messages:send", request.path)
        if not match or request.method != "POST":
            return _error(404, "NOT_FOUND", "not found")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or self.tokens.get(token, 0) < time.time():
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if match.group(1) != self.account["project_id"]:
            return _error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
        try:
            message = request.json()["message"]
            device = message["token"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload", "INVALID_ARGUMENT")
        if any(not isinstance(v, str) for v in message.get("data", {}).values()):
            return _error(
                400, "INVALID_ARGUMENT", "data values must be strings", "INVALID_ARGUMENT"
            )
        if device in self.dead_tokens:
            return _error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        self.delivered.append(message)
        return json_answer(
            200, {"name": f"projects/{match.group(1)}/messages/{secrets.token_hex(8)}"}
        )

    def _token(self, request: Request) -> Answer:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return json_answer(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.public_key,
                algorithms=["RS256"],
                audience=self.account["token_uri"],
            )
        except jwt.PyJWTError as exc:
            return json_answer(400, {"error": "invalid_grant", "error_description": str(exc)})
        if claims.get("iss") != self.account["client_email"] or claims.get("scope") != SCOPE:
            return json_answer(400, {"error": "invalid_scope"})
        token = "ya29." + secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.token_lifetime
        return json_answer(
            200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )
