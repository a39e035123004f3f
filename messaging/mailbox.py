"""A local mailbox: the demo's email backend, and its reader (Settings › Sent emails).

With no SMTP server configured, `manage.py demo` sends email here: each message is one
`.eml` file in HERALD_MAILBOX_DIR, written whole (a temporary name, then renamed), so a
reader never sees half a message. The dashboard lists and shows them, with their
tracking links live: they point at SITE_URL, which the demo sets to its own address.
"""

from __future__ import annotations

import email
import email.policy
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

KEEP = 500  # the newest messages kept; older ones are deleted as new ones arrive


def mailbox_dir() -> Path:
    return Path(settings.HERALD_MAILBOX_DIR)


def mailbox_enabled() -> bool:
    return settings.EMAIL_BACKEND == f"{__name__}.MailboxBackend"


class MailboxBackend(BaseEmailBackend):
    """Django email backend that files each message in the mailbox directory."""

    def send_messages(self, email_messages) -> int:  # type: ignore[no-untyped-def]
        folder = mailbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            # Sortable by time, unique across processes.
            name = f"{datetime.now().strftime('%Y%m%d%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
            temporary = folder / f".{name}.tmp"
            temporary.write_bytes(message.message().as_bytes(linesep="\n"))
            os.replace(temporary, folder / f"{name}.eml")
            sent += 1
        _prune(folder)
        return sent


def _prune(folder: Path) -> None:
    names = sorted(folder.glob("*.eml"))
    for old in names[:-KEEP]:
        old.unlink(missing_ok=True)


@dataclass
class Mail:
    name: str
    subject: str
    sender: str
    to: str
    date: datetime | None
    message_id: str
    text: str = ""
    html: str = ""


def _read(path: Path, *, bodies: bool) -> Mail:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    try:
        date = parsedate_to_datetime(parsed["Date"]) if parsed["Date"] else None
    except (TypeError, ValueError):
        date = None
    mail = Mail(
        name=path.stem, subject=str(parsed["Subject"] or ""), sender=str(parsed["From"] or ""),
        to=str(parsed["To"] or ""), date=date,
        message_id=str(parsed["X-Herald-Message-Id"] or ""),
    )  # fmt: skip
    if bodies:
        for kind in ("plain", "html"):
            part = parsed.get_body(preferencelist=(kind,))
            if part is not None:
                setattr(mail, "text" if kind == "plain" else "html", part.get_content())
    return mail


def mailbox_list(*, limit: int = 100) -> list[Mail]:
    """The newest messages first (headers only)."""
    folder = mailbox_dir()
    if not folder.is_dir():
        return []
    newest = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    return [_read(path, bodies=False) for path in newest]


def mailbox_get(name: str) -> Mail | None:
    """One message by its file name (as listed); None for anything else."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = mailbox_dir() / f"{name}.eml"
    return _read(path, bodies=True) if path.is_file() else None
