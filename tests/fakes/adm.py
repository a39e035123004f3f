"""Amazon Device Messaging: Login-with-Amazon token endpoint and the message endpoint."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import parse_qs

from .server import Answer, Fake, Request, json_answer


class FakeAdm(Fake):
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: dict[str, float] = {}
        self.token_lifetime = 3600
        self.token_requests = 0
        self.dead_ids: set[str] = set()
        self.delivered: list[tuple[str, dict]] = []

    def respond(self, request: Request) -> Answer:
        if request.path == "/auth/o2/token":
            self.token_requests += 1
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            if (
                form.get("grant_type") != "client_credentials"
                or form.get("scope") != "messaging:push"
            ):
                return json_answer(400, {"error": "invalid_request"})
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                return json_answer(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed",
                    },
                )
            token = "Atc|" + secrets.token_urlsafe(24)
            self.tokens[token] = time.time() + self.token_lifetime
            return json_answer(
                200,
                {
                    "access_token": token,
                    "expires_in": self.token_lifetime,
                    "scope": "messaging:push",
                    "token_type": "bearer",
                },
            )
        match = re.fullmatch(r"/messaging/registrations/([^/]+)/messages", request.path)
        if not match:
            return json_answer(404, {"reason": "NotFound"})
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or self.tokens.get(token, 0) < time.time():
            return json_answer(401, {"reason": "AccessTokenExpired"})
        if (
            request.headers.get("x-amzn-type-version")
            != "com.amazon.device.messaging.ADMMessage@1.0"
        ):
            return json_answer(400, {"reason": "InvalidType"})
        try:
            message = request.json()
        except ValueError:
            return json_answer(400, {"reason": "InvalidData"})
        if not isinstance(message.get("data"), dict) or any(
            not isinstance(v, str) for v in message["data"].values()
        ):
            return json_answer(400, {"reason": "InvalidData"})
        registration = match.group(1)
        if registration in self.dead_ids:
            return json_answer(410, {"reason": "Unregistered"})
        self.delivered.append((registration, message))
        return json_answer(200, {"registrationID": registration})
