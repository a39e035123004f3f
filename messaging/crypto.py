"""Encryption of provider credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from `HERALD_ENCRYPTION_KEY` (a Fernet key, or any passphrase) and falls
back to one derived from SECRET_KEY, so a development install works with no setup.
NOTE: rotating SECRET_KEY without setting HERALD_ENCRYPTION_KEY makes stored
credentials unreadable; production should set the key explicitly.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class CredentialsUnreadable(Exception):
    """The stored ciphertext was made with another key, or was tampered with."""


@lru_cache(maxsize=4)
def _fernet(configured: str, secret_key: str) -> Fernet:
    if configured:
        try:
            return Fernet(configured.encode())
        except ValueError:
            # Not a Fernet key: treat it as a passphrase.
            material = configured
    else:
        material = secret_key
    digest = hashlib.sha256(b"herald-credentials:" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _current() -> Fernet:
    return _fernet(settings.HERALD_ENCRYPTION_KEY or "", settings.SECRET_KEY)


def encrypt_json(data: dict[str, Any]) -> str:
    return _current().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_current().decrypt(token.encode()))
    except (InvalidToken, ValueError) as exc:
        raise CredentialsUnreadable("stored credentials cannot be decrypted with this key") from exc


def mask(value: str) -> str:
    """What the dashboard shows of a secret: never more than its last four characters."""
    # A PEM key ends in a fixed "-----END … KEY-----" line: mask its body instead.
    value = "".join(line for line in value.strip().splitlines() if not line.startswith("-----"))
    if len(value) <= 8:
        return "••••"
    return "••••" + value[-4:]
