"""Log context and the JSON log format (LOG_FORMAT=json).

The delivery code says which dispatch and message it is working on with `log_context`;
every line logged meanwhile, by any logger of that thread, carries those IDs, in the
JSON format and in the text one alike (as `record.dispatch_id`, `record.message_id`).
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "herald_log_context", default=None
)
FIELDS = ("dispatch_id", "message_id")


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Within the block, log lines carry these IDs (added to those of an outer block)."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class AddContext(logging.Filter):
    """Puts the current IDs on every record (empty strings outside a delivery)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _context.get() or {}
        for field in FIELDS:
            if not getattr(record, field, None):
                setattr(record, field, current.get(field, ""))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the IDs, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, "")
            if value:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
