"""Tracking links in emails: signed tokens, and the rewriting that puts them in a message.

Every URL carries a token signed with `django.core.signing` (salted per purpose) that
names the delivery's `message_id`; a click token also carries the link's index and the
link itself. Only `instrument_email` signs click tokens, from the links of the message
it is given, so `/t/c/…` can only ever send a reader to a link that was in their
message: there is no open redirect. A forged or altered token names nothing
(`unsign` returns None) and records nothing.

This module knows no models: the delivery code (messaging.delivery.send) calls it before
it hands an email to its adapter, and the views call it to read a token.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

SALT_OPEN = "herald.tracking.open"
SALT_CLICK = "herald.tracking.click"
SALT_UNSUBSCRIBE = "herald.tracking.unsubscribe"

_LINK = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
TRACKABLE = re.compile(r"^https?://", re.IGNORECASE)


_TOKEN = "herald-token"


@lru_cache(maxsize=64)
def _url_parts(name: str, site_url: str, urlconf: str | None) -> tuple[str, str]:
    before, _, after = reverse(f"tracking:{name}", args=[_TOKEN], urlconf=urlconf).partition(
        _TOKEN
    )
    return site_url + before, after


def _url(name: str, token: str) -> str:
    # Reversed once per route (an email has three or more of these, a broadcast millions),
    # the token quoted as reverse() quotes an argument.
    before, after = _url_parts(name, settings.SITE_URL, get_urlconf())
    return before + quote(token, safe=RFC3986_SUBDELIMS + "/~:@") + after


def _sign(payload: dict[str, Any], salt: str) -> str:
    # NOTE: not compressed: zlib sets up its whole state for every call (~80 µs here,
    # three tokens an email, more than the rest of the signing), and saves a few bytes
    # only on long click URLs. Compressed tokens of older emails still read (loads()).
    return signing.dumps(payload, salt=salt)


def unsign(token: str, salt: str) -> dict[str, Any] | None:
    """The token's payload, or None when it was not signed by us for this purpose."""
    try:
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("m"), str):
        return None
    return payload


def open_url(message_id: str) -> str:
    return _url("track-open", _sign({"m": message_id}, SALT_OPEN))


def click_url(message_id: str, index: int, link: str) -> str:
    return _url("track-click", _sign({"m": message_id, "i": index, "u": link}, SALT_CLICK))


def unsubscribe_url(message_id: str) -> str:
    return _url("track-unsubscribe", _sign({"m": message_id}, SALT_UNSUBSCRIBE))


def instrument_email(html: str, *, message_id: str, unsubscribe: str | None = None) -> str:
    """Return the email HTML with tracked links, an unsubscribe link and an open pixel.
    `unsubscribe`: the message's unsubscribe_url, when the caller has signed it already."""
    unsubscribe = unsubscribe or unsubscribe_url(message_id)
    index = 0

    def rewrite(match: re.Match[str]) -> str:
        nonlocal index
        link = html_lib.unescape(match.group(3)).strip()
        if not TRACKABLE.match(link):
            return match.group(0)  # mailto:, tel:, anchors and Liquid leftovers stay as-is
        tracked = click_url(message_id, index, link)
        index += 1
        return f"{match.group(1)}{match.group(2)}{html_lib.escape(tracked)}{match.group(2)}"

    body = _LINK.sub(rewrite, html)
    extra = (
        f'<p style="font-size:12px;color:#667085">'
        f'<a href="{html_lib.escape(unsubscribe)}">Unsubscribe</a></p>'
        f'<img src="{html_lib.escape(open_url(message_id))}" width="1" height="1" alt="" '
        f'style="display:block;border:0;width:1px;height:1px">'
    )
    closing = re.search(r"</body\s*>", body, re.IGNORECASE)
    if closing:
        return body[:closing.start()] + extra + body[closing.start():]
    return body + extra


def unsubscribe_headers(*, message_id: str, unsubscribe: str | None = None) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: one-click unsubscribe from the mail client."""
    return {
        "List-Unsubscribe": f"<{unsubscribe or unsubscribe_url(message_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
