"""axe-core (vendored, tests/browser/vendor/axe-core) on every page of Herald's dashboard.

One realistic data set (a campaign sent to through the API, opened, with a segment, an
app and a key), then every page a marketer or an admin can reach, each checked by axe
with its default rules: no violation at all. Django's admin is not Herald's and is left
out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaigns.models import Campaign, Channel
from campaigns.services import MessageSpec, campaign_create
from messaging.models import App, Dispatch, Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()


@pytest.fixture(autouse=True)
def _mailbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "messaging.mailbox.MailboxBackend"
    settings.HERALD_MAILBOX_DIR = tmp_path / "mail"


def _data(api) -> dict[str, str]:
    app = App.objects.create(name="Acme iOS", platform=App.Platform.IOS)
    created = api.post("/users/track", {"attributes": [
        {"external_id": f"cust-{i}", "first_name": name, "email": f"{name.lower()}@example.test"}
        for i, name in enumerate(["Ana", "Ben", "Chloé"])]})
    assert created.status_code == 201, created.content
    campaign = campaign_create(name="Order shipped", tags=["orders"], by=None, messages=[
        MessageSpec(Channel.EMAIL, "Variant 1"), MessageSpec(Channel.APPLE_PUSH, "Variant 1")])
    email, push = sorted(campaign.variations.all(), key=lambda v: v.channel != "email")
    sent = api.post("/messages/send", {
        "campaign_id": str(campaign.api_id), "external_user_ids": ["cust-0", "cust-1", "cust-2"],
        "messages": {
            "email": {"app_id": "web", "message_variation_id": str(email.api_id),
                      "from": "Acme <o@acme.test>", "subject": "Hi {{${first_name}}}",
                      "body": "<p>Hello <a href=\"https://acme.test/\">there</a></p>"},
            "apple_push": {"app_id": app.app_id, "message_variation_id": str(push.api_id),
                           "alert": "Shipped"},
        }})
    assert sent.status_code == 201, sent.content
    return {
        "campaign": str(campaign.api_id),
        "dispatch": Dispatch.objects.get().dispatch_id,
        "profile": Profile.objects.get(external_id="cust-0").braze_id,
        "app": app.app_id,
    }


def _violations(page) -> list[dict]:
    page.add_script_tag(content=AXE)
    # The default rules and the experimental ones (label-content-name-mismatch among them:
    # a button's accessible name must contain its visible text).
    result = json.loads(page.evaluate("""async () => {
        const experimental = axe.getRules(["experimental"]).map((rule) => rule.ruleId);
        const rules = Object.fromEntries(experimental.map((id) => [id, {enabled: true}]));
        const result = await axe.run(document, {rules});
        return JSON.stringify({violations: result.violations, passes: result.passes.length});
    }"""))
    assert result["passes"] > 10  # axe really looked at the page
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def test_every_page_has_no_axe_violation(browser, live_server, api, admin_user):
    ids = _data(api)
    # The empty states too: a draft never sent.
    Campaign.objects.create(name="Weekly digest (draft)")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems = {}
    try:
        page.goto("/login/")
        assert not (found := _violations(page)), found
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/messaging/campaigns/**")
        results = f"/messaging/campaigns/{ids['campaign']}/results/"
        page.goto("/settings/sent-emails/")
        first_mail = page.locator("table.data tbody a").first.get_attribute("href")
        pages = [
            "/messaging/campaigns/", "/messaging/campaigns/?status=draft",
            "/messaging/campaigns/new/", "/messaging/campaigns/new/api/",
            f"/messaging/campaigns/{ids['campaign']}/",
            f"/messaging/campaigns/{ids['campaign']}/edit/", results,
            f"{results}?start=2026-12-10&end=2026-12-01",  # the date-range error
            "/messaging/dispatches/", f"/messaging/dispatches/{ids['dispatch']}/",
            "/audience/profiles/", f"/audience/profiles/{ids['profile']}/",
            "/audience/segments/", "/analytics/overview/", "/settings/", "/settings/api-keys/",
            "/settings/api-reference/", "/settings/apps/", "/settings/channels/",
            f"/settings/channels/{ids['app']}/apple_push/", "/settings/system/",
            "/settings/sent-emails/", first_mail, "/no-such-page/",
        ]
        for path in pages:
            response = page.goto(path)
            assert response.status == (404 if path == "/no-such-page/" else 200), path
            page.wait_for_load_state("networkidle")
            found = _violations(page)
            if found:
                problems[path] = found
    finally:
        context.close()
    assert not problems, json.dumps(problems, indent=1)
