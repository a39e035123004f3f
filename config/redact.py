"""Keys out of logs: one filter for every log line Herald or its server writes.

The API never logs a key itself; this is the net under everything else that might (a
URL in an access log or a dev-server line, an `Authorization` header in an error). It is
wired into the console handler of settings.LOGGING and into gunicorn's access and error
logs (gunicorn.conf.py).

- `api_key=…` anywhere (a query string, a form body): the value is dropped;
- `Bearer …`: the credential is dropped;
- a Herald key (`hrld_` and 43 random characters, messaging.models.keys): only its public
  prefix (the first 12 characters, as the dashboard shows it) is kept.
"""

from __future__ import annotations

import logging
import re

# NOTE: "hrld_" is messaging.models.keys.KEY_PREFIX (a test checks that they agree); this
# module is loaded with the settings, before any app, so it cannot import it.
HERALD_KEY = re.compile(r"(hrld_[A-Za-z0-9_\-]{7})[A-Za-z0-9_\-]+")
QUERY_KEY = re.compile(r"(api_key(?:=|%3D))[^&\s\"']*", re.IGNORECASE)
BEARER = re.compile(r"(bearer\s+)[^\s\"',]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` without any API key in it."""
    if "hrld_" not in text and "api_key" not in text.lower() and "bearer" not in text.lower():
        return text
    text = QUERY_KEY.sub(rf"\1{REDACTED}", text)
    text = BEARER.sub(rf"\1{REDACTED}", text)
    return HERALD_KEY.sub(r"\1…", text)


class RedactKeys(logging.Filter):
    """A logging filter that rewrites each record's message (and traceback) without keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
