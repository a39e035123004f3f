"""A Twilio-compatible Messages API, and Twilio's webhook signature (computed independently)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qs

from .server import Answer, Fake, Request, json_answer

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + each sorted key + value))."""
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(
        hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()


class FakeTwilio(Fake):
    def __init__(self, *, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.unreachable: set[str] = set()  # numbers that are not mobile (21614)
        self.sent: list[dict[str, list[str]]] = []

    def respond(self, request: Request) -> Answer:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if request.path != path or request.method != "POST":
            return json_answer(
                404,
                {"code": 20404, "message": "The requested resource was not found", "status": 404},
            )
        expected = (
            "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        )
        if request.headers.get("authorization") != expected:
            return json_answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        to = form.get("To", [""])[0]
        if not E164.match(to):
            return json_answer(
                400,
                {
                    "code": 21211,
                    "message": f"The 'To' number {to} is not a valid phone number.",
                    "status": 400,
                },
            )
        if to in self.unreachable:
            return json_answer(
                400,
                {
                    "code": 21614,
                    "message": f"'To' number {to} is not a valid mobile number",
                    "status": 400,
                },
            )
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return json_answer(
                400, {"code": 21603, "message": "A 'From' phone number is required.", "status": 400}
            )
        self.sent.append(form)
        return json_answer(
            201,
            {
                "sid": "SM" + secrets.token_hex(16),
                "status": "queued",
                "to": to,
                "from": form.get("From", [None])[0],
                "body": form.get("Body", [""])[0],
                "num_media": str(len(form.get("MediaUrl", []))),
                "account_sid": self.account_sid,
            },
        )
