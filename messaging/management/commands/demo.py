"""`manage.py demo`: migrate, fill an empty database with demo data, and start Herald.

The demo data goes through the same doors a real installation uses: campaigns through the
campaign services, profiles and sends through the REST API (`/users/track`,
`/messages/send`), opens and clicks through the tracking links of the delivered emails, and
conversions through `/users/track` events and purchases. So every page has something to
show, and the numbers on it were produced by the real code paths.
"""

from __future__ import annotations

import json
import random
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from accounts.roles import ADMIN
from campaigns.models import Campaign, Channel, ConversionEvent
from campaigns.services import ConversionSpec, MessageSpec, campaign_create
from messaging.models import ApiKey, App, Delivery, Permission

DEMO_USERNAME = "demo"
FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Gus", "Hana", "Ivo", "Jade",
               "Kofi", "Lena", "Malo", "Nina", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess",
               "Ugo", "Vera", "Wen", "Xavi", "Yara", "Zoe"]
CITIES = ["Paris", "Lyon", "Berlin", "Lisbon", "Montréal", "Austin"]


class Command(BaseCommand):
    help = "Migrate, load demo data into an empty database, print a login, and run the server."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="Prepare data and exit.")

    def handle(self, *args, addrport: str, no_server: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(9)
        user = self._demo_user(password)
        if Campaign.objects.exists():
            self.stdout.write("Demo data: the database already has campaigns; left as it is.")
            api_key = None
        else:
            self.stdout.write("Loading demo data (campaigns, profiles, sends, results)…")
            api_key = self._seed(user)

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Herald is starting at http://{addrport}/"))
        self.stdout.write(f"  Dashboard login:  {DEMO_USERNAME} / {password}   (role: Admin)")
        self.stdout.write("  Add a marketer:   python manage.py add_account NAME --role Marketer")
        if api_key:
            self.stdout.write(f"  REST API key:     {api_key}   (all permissions)")
        self.stdout.write("")
        if not no_server:
            call_command("runserver", addrport, use_reloader=False)

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

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def _seed(self, user) -> str:
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
        for message in mail.outbox:
            alternatives = getattr(message, "alternatives", [])
            html = next((body for body, kind in alternatives if kind == "text/html"), "")
            links = _links(html)
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
