"""Herald's web SDK in a real browser, on a customer's page of another origin.

A tiny local site (its own origin, its own "backend" that signs user tokens) loads the SDK
from the live Herald, identifies a user, logs an event and a purchase, reads and clicks a
card sent through /messages/send, and registers for web push; the dashboard's results page
then shows what it did. Headless Chromium reaches no real push service, so the page's
`PushManager.prototype.subscribe` (never the SDK) is replaced by one answering a
subscription of the local push service the adapter tests use, which decrypts what Herald
sends.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from analytics.models import EngagementEvent
from campaigns.models import ConversionEvent
from messaging.models import App, Delivery, PushToken
from messaging.sdk.services import sdk_key_get_or_create, sdk_key_set_origins
from messaging.services.providers import app_create, channel_config_save
from tests.analytics.helpers import make_campaign, make_profile
from tests.fakes.tls import local_tls
from tests.fakes.webpush import FakePushService
from tests.sdk.conftest import SECRET, user_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
README = Path(__file__).resolve().parents[2] / "README.md"

SHOP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
</head><body><h1>Shop</h1><p id="status">loading</p><ul id="cards"></ul>
<button id="buy">Buy</button> <button id="push">Enable notifications</button>
<script type="module">
  import Herald from "HERALD/sdk/v1/herald.mjs";
  const herald = Herald.initialize({ sdkKey: "SDK_KEY", baseUrl: "HERALD" });
  const status = document.getElementById("status");
  const query = new URLSearchParams(location.search);
  const user = query.get("user") || "ada";
  herald.subscribeToContentCardsUpdates((cards) => {
    const list = document.getElementById("cards");
    list.replaceChildren(...cards.map((card) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = card.url;
      link.textContent = card.title;
      link.addEventListener("click", async (event) => {
        event.preventDefault();
        await herald.logCardClick(card);
        status.textContent = "clicked";
      });
      item.append(link);
      return item;
    }));
  });
  try {
    // The site's backend signs the token for its signed-in user ("no" signs nothing).
    const token = query.get("signed") === "no" ? "unsigned.token.value"
      : await (await fetch("/token?user=" + encodeURIComponent(user))).text();
    await herald.identify(user, token);
    await herald.openSession();
    const cards = await herald.requestContentCardsRefresh();
    await herald.logCardImpressions(cards);
    status.textContent = "ready";
  } catch (error) {
    status.textContent = `refused: ${error.status} ${error.message} ${error.errors.join("; ")}`;
  }
  document.getElementById("buy").addEventListener("click", async () => {
    await herald.logCustomEvent("checkout", { sku: "S1" });
    await herald.logPurchase("shoes", 49.5, "EUR", 1, { size: 42 });
    status.textContent = "bought";
  });
  document.getElementById("push").addEventListener("click", () => herald
    .requestPushPermission()
    .then((ok) => { status.textContent = ok ? "push on" : "push off"; },
          (error) => { status.textContent = "push refused: " + error.message; }));
</script></body></html>
"""


class Shop:
    """The customer's site: its pages, its service worker file, its token-signing backend."""

    def __init__(self, herald_url: str, sdk_key: str) -> None:
        self.herald_url, self.sdk_key = herald_url, sdk_key
        self.pages: dict[str, str] = {"/": SHOP_PAGE}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                if parts.path == "/token":
                    user = parse_qs(parts.query).get("user", [""])[0]
                    self._answer(user_token(user, exp_in=600), "text/plain")
                elif parts.path == "/herald-sw.js":
                    self._answer(f'importScripts("{shop.herald_url}/sdk/v1/herald-sw.js");\n',
                                 "text/javascript")
                elif parts.path in shop.pages:
                    html = shop.pages[parts.path].replace("HERALD", shop.herald_url)
                    self._answer(html.replace("SDK_KEY", shop.sdk_key), "text/html")
                else:
                    self.send_error(404)

            def _answer(self, text: str, content_type: str) -> None:
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def web_app(db, settings):
    settings.CONTENT_CARD_JWT_SECRET = SECRET
    return app_create(name="Shop website", platform=App.Platform.WEB)


@pytest.fixture
def shop(live_server, web_app):
    key = sdk_key_get_or_create(app=web_app)
    site = Shop(live_server.url, key.key)
    sdk_key_set_origins(sdk_key=key, origins=[site.url])
    yield site
    site.close()


@pytest.fixture
def campaign():
    return make_campaign(
        name="Spring shoes", variations=[("content_card", "Card"), ("web_push", "Push")],
        conversions=[(ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT,
                      {"custom_event_name": "checkout", "window": timedelta(days=1)})])


def _send_card(api, campaign, user="ada"):
    card = campaign.variations.get(channel="content_card")
    response = api.post("/messages/send", {
        "campaign_id": str(campaign.api_id), "external_user_ids": [user],
        "messages": {"content_card": {
            "type": "CLASSIC", "title": "Spring shoes are here", "description": "20% off",
            "web_uri": "https://shop.example/spring", "time_to_live": 3600,
            "message_variation_id": str(card.api_id)}}})
    assert response.status_code == 201, response.content
    return card


def _status(page, text):
    page.locator("#status").filter(has_text=text).wait_for()


def test_a_customer_page_converts_reads_and_clicks_a_card(page, logged_in_page, api,
                                                          shop, campaign):
    make_profile("ada")
    card = _send_card(api, campaign)
    customer = page.context.new_page()
    customer.goto(shop.url + "/?user=ada")
    _status(customer, "ready")
    customer.get_by_role("link", name="Spring shoes are here").wait_for()
    customer.get_by_role("button", name="Buy").click()
    _status(customer, "bought")
    customer.get_by_role("link", name="Spring shoes are here").click()
    _status(customer, "clicked")
    customer.screenshot(path="/tmp/i17-shop.png", full_page=True)

    logged_in_page.goto(f"/messaging/campaigns/{campaign.api_id}/results/")
    logged_in_page.get_by_role("heading", name="Results").wait_for()

    def cell(metric):
        return logged_in_page.locator(
            f'tr[data-variation="{card.api_id}"] td[data-metric="{metric}"]').inner_text()

    # A card's impressions are its opens (Braze: "unique impressions" of a card).
    assert cell("unique_opens").startswith("1")
    assert cell("unique_clicks").startswith("1")
    assert cell("conversions").startswith("1")
    assert "49.50" in cell("revenue")
    logged_in_page.screenshot(path="/tmp/i17-results.png", full_page=True)
    # Totals beside the uniques, through the REST API.
    series = api.get("/campaigns/data_series", {"campaign_id": str(campaign.api_id),
                                               "length": 1})
    assert series.status_code == 200, series.content
    cards = series.json()["data"][0]["messages"]["content_cards"][0]
    assert (cards["total_impressions"], cards["unique_impressions"]) == (1, 1)
    assert (cards["total_clicks"], cards["unique_clicks"]) == (1, 1)


def test_the_same_page_without_a_valid_token_is_refused(page, api, shop, campaign):
    make_profile("ada")
    _send_card(api, campaign)
    page.goto(shop.url + "/?user=ada&signed=no")
    _status(page, "refused: 401 Unauthorized")
    assert page.locator("#cards li").count() == 0
    assert not EngagementEvent.objects.filter(kind=EngagementEvent.Kind.IMPRESSION).exists()


def test_a_page_on_an_origin_the_app_does_not_allow_is_refused(page, api, shop, web_app):
    key = web_app.sdk_key
    sdk_key_set_origins(sdk_key=key, origins=["https://elsewhere.example"])
    page.goto(shop.url + "/?user=ada")
    _status(page, "refused: 403 Origin not allowed")


def test_the_readme_snippet_in_a_blank_page_shows_a_card(page, api, shop, campaign):
    make_profile("ada")
    _send_card(api, campaign)
    text = README.read_text()
    snippet = re.search(r"<!-- sdk-snippet -->\s*```html\n(.*?)```", text, re.S).group(1)
    snippet = (snippet.replace("https://herald.example.com", shop.herald_url)
               .replace("hrld_pub_YOUR_KEY", shop.sdk_key)
               .replace("USER_TOKEN", user_token("ada", exp_in=600)))
    shop.pages["/blank"] = f"<!doctype html><html><body>{snippet}</body></html>"
    page.goto(shop.url + "/blank")
    page.get_by_text("Spring shoes are here").wait_for()


@pytest.fixture
def push_service(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the fake listens on 127.0.0.1
    settings.HERALD_PROVIDER_CA_BUNDLE = local_tls().ca_file
    with FakePushService() as fake:
        yield fake


def _wait(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_web_push_subscribes_is_decrypted_and_its_click_counts_as_an_open(
        page, api, shop, campaign, web_app, push_service):
    channel_config_save(app=web_app, channel="web_push", provider="webpush",
                        options={"subject": "mailto:ops@shop.example"})
    make_profile("ada")
    subscription = json.loads(push_service.subscribe())
    # The only stand-in: the browser's push subscription (the SDK runs as shipped).
    page.context.grant_permissions(["notifications"], origin=shop.url)
    page.add_init_script(
        "PushManager.prototype.subscribe = async function () {"
        f" const s = {json.dumps(subscription)};"
        " return { endpoint: s.endpoint, options: {}, toJSON: () => s }; };")
    page.goto(shop.url + "/?user=ada")
    _status(page, "ready")
    page.get_by_role("button", name="Enable notifications").click()
    _status(page, "push on")
    token = PushToken.objects.get(profile__external_id="ada")
    assert token.app_id == web_app.app_id
    assert json.loads(token.token)["endpoint"] == subscription["endpoint"]

    push = campaign.variations.get(channel="web_push")
    response = api.post("/messages/send", {
        "campaign_id": str(campaign.api_id), "external_user_ids": ["ada"],
        "messages": {"web_push": {"alert": "Back in stock", "title": "Shoes",
                                  "message_variation_id": str(push.api_id)}}})
    assert response.status_code == 201, response.content
    assert _wait(lambda: push_service.received), "nothing reached the push service"
    [(_, notification, _)] = push_service.received
    delivery = Delivery.objects.get(channel="web_push")
    assert notification["title"] == "Shoes" and notification["body"] == "Back in stock"
    assert notification["herald_message_id"] == delivery.message_id

    # What the browser would do with it: the decrypted push goes to Herald's service worker,
    # which shows it; the notification is then clicked. NOTE: Chromium's notification
    # store misses a notification asked for while it is being shown: ask a little later.
    [worker] = [w for w in page.context.service_workers if "herald-sw.js" in w.url]
    shown = worker.evaluate("""async (push) => {
        self.dispatchEvent(new PushEvent("push", { data: JSON.stringify(push) }));
        for (let i = 0; i < 50; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const note = (await self.registration.getNotifications())
            .find((shown) => shown.tag === push.herald_message_id);
          if (note) {
            self.dispatchEvent(new NotificationEvent("notificationclick", { notification: note }));
            return note.title + " / " + note.body;
          }
        }
        return "not shown";
    }""", notification)
    assert shown == "Shoes / Back in stock"
    assert _wait(lambda: EngagementEvent.objects.filter(
        kind=EngagementEvent.Kind.DIRECT_OPEN, delivery=delivery).exists()), "no open counted"


def test_try_the_sdk_page_runs_the_sdk_live(developer_page, api, web_app, campaign):
    make_profile("ada")
    _send_card(api, campaign)
    page = developer_page
    page.goto("/settings/apps/")
    page.get_by_role("link", name="Try the SDK").click()
    page.get_by_role("button", name="Create the SDK key").click()
    page.get_by_label("Origins, one per line").fill("https://shop.example")
    page.get_by_role("button", name="Save origins").click()
    page.get_by_text("1 allowed origin(s) saved.").wait_for()
    page.get_by_label("Test user's external_id").fill("ada")
    page.get_by_role("button", name="Sign a 10-minute token").click()
    page.get_by_role("button", name="Identify").click()
    page.locator("#demo-status").filter(has_text="Identified ada").wait_for()
    page.locator("#demo-cards").get_by_text("Spring shoes are here").wait_for()
    page.locator("#demo-cards").get_by_role("button", name="Click").click()
    page.locator("#demo-status").filter(has_text="logged").wait_for()
    page.screenshot(path="/tmp/i17-try-sdk.png", full_page=True)
    assert EngagementEvent.objects.filter(kind=EngagementEvent.Kind.CLICK).count() == 1
    # The classic build defines window.Herald, the same SDK.
    page.add_script_tag(url="/sdk/v1/herald.js")
    assert page.evaluate("[Herald.VERSION, typeof Herald.initialize]") == ["1.0.0", "function"]
