"""`manage.py demo`: migrate, fill an empty database with demo data, and start Herald.

The demo data goes through the same doors a real installation uses: campaigns through the
campaign services, profiles and sends through the REST API (`/users/track`,
`/messages/send`), opens and clicks through the tracking links of the delivered emails, and
conversions through `/users/track` events and purchases. So every page has something to
show, and the numbers on it were produced by the real code paths.

Then it runs as production does, with nothing to install: the web server, and a real
Celery worker process (with the beat schedule) beside it on an embedded broker, kombu's
filesystem transport in a directory beside the database, unless a broker is configured
(CELERY_BROKER_URL or REDIS_URL). Sends are accepted at once and delivered by the worker.
With no SMTP server configured, emails are collected for Settings › Sent emails. DEBUG is
off, so 404 and 500 are Herald's own pages, and SITE_URL (the address in tracking links)
is the server's own unless set.

The command sets this up by running itself again with that environment (HERALD_DEMO=1,
config/settings.py), which its worker inherits.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from accounts.roles import ADMIN
from campaigns.models import Campaign, Channel, ConversionEvent
from campaigns.services import ConversionSpec, MessageSpec, campaign_create
from config.celery import app as celery_app
from messaging.mailbox import mailbox_dir, mailbox_enabled, mailbox_get
from messaging.models import ApiKey, App, Delivery, Permission
from messaging.services.api_keys import api_key_create

DEMO_USERNAME = "demo"
DEMO_KEY_NAME = "Demo key"
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Gus", "Hana", "Ivo", "Jade",
               "Kofi", "Lena", "Malo", "Nina", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess",
               "Ugo", "Vera", "Wen", "Xavi", "Yara", "Zoe"]
CITIES = ["Paris", "Lyon", "Berlin", "Lisbon", "Montréal", "Austin"]
MAILBOX = "messaging.mailbox.MailboxBackend"


def _host_port(addrport: str) -> tuple[str, str]:
    """runserver's `addrport` ("8101", "0.0.0.0:8101", "[::1]:8101") as (host, port)."""
    host, _, port = addrport.rpartition(":")
    return (host or "127.0.0.1"), port


def _public_base(addrport: str) -> str:
    host, port = _host_port(addrport)
    # A server bound to every interface is still reached here as 127.0.0.1.
    if host in {"0.0.0.0", "[::]", "::"}:
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def demo_environment(addrport: str, environ: dict[str, str], demo_dir: Path) -> dict[str, str]:
    """The environment the demo and its worker run with (what the user set is kept)."""
    env = dict(environ)
    env["HERALD_DEMO"] = "1"
    env["HERALD_DEMO_DIR"] = str(demo_dir)
    env.setdefault("DEBUG", "0")
    if not env.get("SECRET_KEY") and not env.get("SECRET_KEY_FILE"):
        # One key kept beside the database: logins survive a restart of the demo.
        key_file = demo_dir / "secret-key"
        if not key_file.exists():
            key_file.write_text(secrets.token_urlsafe(50))
            key_file.chmod(0o600)
        env["SECRET_KEY_FILE"] = str(key_file)
    # Tracking links in the demo's emails must reach this server, wherever it runs.
    env.setdefault("SITE_URL", _public_base(addrport))
    host, _ = _host_port(addrport)
    if not env.get("ALLOWED_HOSTS"):
        env["ALLOWED_HOSTS"] = "*" if host in {"0.0.0.0", "[::]", "::"} else ",".join(
            dict.fromkeys(["localhost", "127.0.0.1", "[::1]", host.strip("[]")])
        )
    if not env.get("CELERY_BROKER_URL") and not env.get("REDIS_URL"):
        env["CELERY_BROKER_URL"] = "filesystem://localhost/"
    # The web server and the worker count metrics in one directory (config/metrics.py).
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(demo_dir / "metrics"))
    return env


def _interrupt(signum, frame):  # type: ignore[no-untyped-def]
    raise KeyboardInterrupt


def _fresh_dirs(demo_dir: Path, env: dict[str, str]) -> None:
    metrics = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    # Counters from processes of an earlier run are not this run's.
    shutil.rmtree(metrics, ignore_errors=True)
    for folder in (metrics, demo_dir / "broker" / "queue", demo_dir / "broker" / "processed",
                   demo_dir / "broker" / "control",
                   demo_dir / "mail", demo_dir / "cache"):  # fmt: skip
        folder.mkdir(parents=True, exist_ok=True)


class Command(BaseCommand):
    help = "Migrate, load demo data into an empty database, print a login, and run Herald."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="Prepare data and exit.")
        parser.add_argument("--no-worker", action="store_true",
                            help="Do not start a Celery worker (one is running already).")

    def handle(self, *args, addrport: str, no_server: bool, no_worker: bool, **options):
        if not settings.HERALD_DEMO and sys.argv[1:2] == ["demo"]:
            demo_dir = Path(settings.HERALD_DEMO_DIR)
            demo_dir.mkdir(parents=True, exist_ok=True)
            env = demo_environment(addrport, dict(os.environ), demo_dir)
            _fresh_dirs(demo_dir, env)
            sys.stdout.flush()
            os.execve(sys.executable, [sys.executable, *sys.argv], env)
        call_command("migrate", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(9)
        user = self._demo_user(password)
        if Campaign.objects.exists():
            note = "the database already had campaigns; left as they are"
            api_key = None
        else:
            self.stdout.write("Loading demo data (campaigns, profiles, sends, results)…")
            started = time.monotonic()
            api_key = self._seed(user)
            note = f"demo data loaded in {time.monotonic() - started:.0f} s"
        api_key, key_note = self._api_key(user, api_key)
        worker = None
        if not no_server and not no_worker and not celery_app.conf.task_always_eager:
            worker = self._start_worker()
        base = settings.SITE_URL if settings.HERALD_DEMO else f"http://{addrport}"
        self._banner(base=base, password=password, api_key=api_key, key_note=key_note,
                     note=note, worker=worker, serving=not no_server)  # fmt: skip
        if no_server:
            return
        # `kill` or a closed terminal stops the worker too, as Ctrl-C does (runserver
        # turns KeyboardInterrupt into a clean exit, and the `finally` below runs).
        for name in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), _interrupt)
        try:
            # runserver's own lines ("Performing system checks…", "Starting development
            # server…") would push the banner off screen; its errors still go to stderr.
            with open(os.devnull, "w") as quiet:
                call_command("runserver", addrport, use_reloader=False, stdout=quiet)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _banner(self, *, base: str, password: str, api_key: str, key_note: str, note: str,
                worker: subprocess.Popen | None, serving: bool) -> None:  # fmt: skip
        if mailbox_enabled():
            emails = f"collected at {base}/settings/sent-emails/ (no SMTP server is set)"
        elif settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
            emails = f"sent to the SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
        else:
            emails = f"handed to {settings.EMAIL_BACKEND}"
        if worker is not None:
            broker = urlsplit(settings.CELERY_BROKER_URL).scheme
            tasks = f"a Celery worker (pid {worker.pid}) on the {broker} broker"
        elif celery_app.conf.task_always_eager:
            tasks = "in the web process"
        elif not serving:
            broker = urlsplit(settings.CELERY_BROKER_URL).scheme
            tasks = f"a Celery worker on the {broker} broker, started with the server"
        else:
            tasks = "by the Celery workers already running (--no-worker)"
        lines = [
            "",
            f"Herald {'is running at' if serving else 'is ready; start it at'} {base}/"
            f"   ({note})",
            f"  Log in:        {DEMO_USERNAME} / {password}   (role: Admin; a new password"
            " at every start)",
            "  Add a marketer: python manage.py add_account NAME --role Marketer",
            f"  REST API key:  {api_key}   ({key_note})",
            f"  Emails:        {emails}",
            f"  Delivery:      {tasks}",
            f"  Health:        {base}/health/ready    Metrics: {base}/metrics",
        ]
        if serving:
            lines.append("  Stop with Ctrl-C.")
        self.stdout.write("\n".join(lines) + "\n")
        self.stdout.flush()

    def _start_worker(self) -> subprocess.Popen:
        """A real `celery -A config worker` process beside the web server, with the beat
        schedule embedded (-B: the sweeper and the tracking fold), inheriting the demo's
        environment. Two processes: sends never wait behind a fold or a sweep."""
        demo_dir = Path(settings.HERALD_DEMO_DIR)
        command = [
            sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker", "-B",
            "--schedule", str(demo_dir / "celerybeat-schedule"), "--concurrency", "2",
            "--loglevel", "WARNING", "--hostname", f"demo@{socket.gethostname()}",
        ]
        return subprocess.Popen(command, cwd=settings.BASE_DIR)

    def _api_key(self, user, seeded: str | None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
        """The demo's key: the one kept beside the database while it is not revoked, else
        a new one (the database stores only its digest, so it is kept in a file)."""
        key_file = Path(settings.HERALD_DEMO_DIR) / "api-key"
        if seeded is None and key_file.exists():
            key = key_file.read_text().strip()
            stored = ApiKey.objects.filter(prefix=ApiKey.prefix_of(key), revoked_at=None).first()
            if stored is not None and stored.matches(key):
                return key, f"all permissions; kept in {key_file}"
        if seeded is None:
            _, seeded = api_key_create(name=DEMO_KEY_NAME, permissions=Permission.values,
                                       created_by=user)  # fmt: skip
            note = "new: the last one was revoked or lost; all permissions"
        else:
            note = "all permissions"
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(seeded + "\n")
        key_file.chmod(0o600)
        return seeded, f"{note}; kept in {key_file}"

    def _demo_user(self, password: str):
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@herald.test"}
        )
        # A fresh password on every start: the demo login is never a known default.
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=ADMIN))
        return user

    def _seed(self, user) -> str:
        """Demo data, delivered in this process (tasks run eagerly), so that its emails
        are there to be opened and clicked before the server starts. Its emails go to
        the mailbox whatever the SMTP settings: their addresses are made up."""
        eager = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True
        try:
            with override_settings(EMAIL_BACKEND=MAILBOX):
                return self._seed_eagerly(user)
        finally:
            celery_app.conf.task_always_eager = eager

    def _seed_eagerly(self, user) -> str:  # type: ignore[no-untyped-def]
        before = set(mailbox_dir().glob("*.eml"))
        rng = random.Random(7)
        key, prefix, digest = ApiKey.generate()
        ApiKey.objects.create(name="Demo key", prefix=prefix, digest=digest,
                              permissions=list(Permission.values), created_by=user)
        apps = {
            platform: App.objects.create(name=f"Acme {label}", platform=platform).app_id
            for platform, label in ((App.Platform.IOS, "iOS"), (App.Platform.ANDROID, "Android"),
                                    (App.Platform.WEB, "Web"), (App.Platform.EMAIL, "Email"))
        }
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")

        def post(path: str, body: dict) -> dict:
            response = client.post(path, json.dumps(body), content_type="application/json")
            if response.status_code >= 300:
                raise RuntimeError(
                    f"{path} answered {response.status_code}: {response.content[:300]!r}"
                )
            return response.json()

        with transaction.atomic():
            shipped = campaign_create(
                name="Order shipped", description="Transactional shipping notice.",
                tags=["transactional", "orders"],
                messages=[
                    MessageSpec(Channel.EMAIL, "Variant 1"),
                    MessageSpec(Channel.EMAIL, "Variant 2"),
                    MessageSpec(Channel.CONTENT_CARD, "Variant 1"),
                    MessageSpec(Channel.SMS, "Variant 1"),
                ],
                conversions=[
                    ConversionSpec(ConversionEvent.Kind.MAKES_ANY_PURCHASE, timedelta(days=3)),
                    ConversionSpec(
                        ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                        timedelta(days=7),
                        custom_event_name="reviewed_order",
                    ),
                ],
                by=user,
            )
            campaign_create(
                name="Password reset", tags=["transactional", "security"],
                messages=[
                    MessageSpec(Channel.EMAIL, "Variant 1"),
                    MessageSpec(Channel.APPLE_PUSH, "Variant 1"),
                    MessageSpec(Channel.ANDROID_PUSH, "Variant 1"),
                ],
                by=user,
            )
            campaign_create(
                name="Weekly digest (draft)", description="Not configured yet.", by=user
            )

        # Profiles, through /users/track.
        attributes = []
        for index, first_name in enumerate(FIRST_NAMES):
            attributes.append({
                "external_id": f"cust-{1001 + index}", "first_name": first_name,
                "email": f"{first_name.lower().replace('é', 'e')}@example.test",
                "phone": f"+3361234{5600 + index}", "home_city": rng.choice(CITIES),
                "loyalty_tier": rng.choice(["bronze", "silver", "gold"]),
                "last_order_id": f"A-{48000 + index}",
            })
        post("/users/track", {"attributes": attributes})

        # Sends, through /messages/send, split between the two email variants.
        variations = {(v.channel, v.name): str(v.api_id) for v in shipped.variations.all()}
        external_ids = [a["external_id"] for a in attributes]
        halves = (("Variant 1", external_ids[:13]), ("Variant 2", external_ids[13:]))
        for variant, recipients in halves:
            post("/messages/send", {
                "campaign_id": str(shipped.api_id),
                "external_user_ids": recipients,
                "messages": {
                    "email": {
                        "app_id": apps[App.Platform.EMAIL],
                        "message_variation_id": variations[(Channel.EMAIL, variant)],
                        "from": "Acme Orders <orders@acme.test>",
                        "subject": "Your order {{custom_attribute.${last_order_id}}} has shipped",
                        "body": "<p>Hi {{${first_name} | default: 'there'}},</p>"
                        "<p>Your order is on its way. "
                        "<a href=\"https://acme.test/orders\">Track it</a>.</p>",
                    },
                    "content_card": {
                        "message_variation_id": variations[(Channel.CONTENT_CARD, "Variant 1")],
                        "type": "CLASSIC", "title": "Order shipped", "time_to_live": 7 * 86400,
                        "description": "Order {{custom_attribute.${last_order_id}}} is on its way.",
                    },
                    "sms": {
                        "message_variation_id": variations[(Channel.SMS, "Variant 1")],
                        "app_id": apps[App.Platform.ANDROID],
                        "subscription_group_id": "demo-transactional",
                        "body": "Acme: order {{custom_attribute.${last_order_id}}} shipped.",
                    },
                },
            })

        # Engagement: open and click some of the delivered emails through their tracking links.
        # Opens within seconds of sending are flagged as machine opens (mail scanners), so
        # the demo's sends are dated an hour back, as if people read them later.
        Delivery.objects.update(sent_at=timezone.now() - timedelta(hours=1))
        browser = Client(HTTP_HOST="127.0.0.1", HTTP_USER_AGENT="Mozilla/5.0 (demo)")
        for path in sorted(set(mailbox_dir().glob("*.eml")) - before):
            mail = mailbox_get(path.stem)
            links = _links(mail.html if mail else "")
            if rng.random() < 0.6:
                for link in links:
                    if "/t/o/" in link:
                        browser.get(_path(link))
            if rng.random() < 0.3:
                for link in links:
                    if "/t/c/" in link:
                        browser.get(_path(link))
                        break

        # Content cards count as received when an app shows them: read some profiles' feeds
        # as their app would and report the impressions (and a click) to /engagement/track.
        card_events = []
        for external_id in rng.sample(external_ids, 16):
            response = client.get("/content_cards/feed", {"external_id": external_id})
            for card in response.json().get("cards", []):
                card_events.append({"type": "card_impression", "card_id": card["id"]})
                if rng.random() < 0.4:
                    card_events.append({"type": "card_click", "card_id": card["id"]})
        if card_events:
            post("/engagement/track", {"events": card_events})

        # Conversions, through /users/track: purchases and a custom event.
        now = timezone.now()
        purchases = [
            {"external_id": external_id, "product_id": "gift-card", "currency": "USD",
             "price": rng.choice([19.99, 49.0, 75.5]), "time": now.isoformat()}
            for external_id in rng.sample(external_ids, 7)
        ]
        events = [
            {"external_id": external_id, "name": "reviewed_order", "time": now.isoformat()}
            for external_id in rng.sample(external_ids, 5)
        ]
        post("/users/track", {"purchases": purchases, "events": events})
        return key


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]+)"', html)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
