"""The issue's "done when", in a real browser and over real SMTP: a marketer builds a
template with a content block and an image, a developer sends it by `email_template_id`,
and the email that arrives shows all three."""

from __future__ import annotations

import json
import urllib.request

import pytest

from assets.models import ContentBlock, EmailTemplate, MediaAsset
from messaging.models import Profile
from tests.assets.images import png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "test-artifacts"


def test_marketer_builds_a_template_and_the_sent_email_shows_it_all(
    logged_in_page, live_server, smtp, make_api_key, tmp_path, settings
):
    settings.SITE_URL = live_server.url
    page = logged_in_page

    # 1. A content block, with its preview.
    page.goto("/assets/content-blocks/")
    assert page.get_by_role("heading", name="No content blocks yet").is_visible()
    page.get_by_role("link", name="Create content block").first.click()
    page.get_by_label("Name").fill("footer")
    page.get_by_label("Content", exact=True).fill(
        "<footer>Acme Inc. · Hi {{${first_name}}}</footer>")
    page.get_by_role("button", name="Save content block").click()
    page.wait_for_url("**/assets/content-blocks/*/")
    assert page.get_by_test_id("liquid-tag").inner_text() == "{{content_blocks.${footer}}}"

    # 2. An image in the media library; a wrong type is refused first.
    page.goto("/assets/media/")
    text_file = tmp_path / "notes.png"
    text_file.write_text("not an image")
    page.get_by_label("Image", exact=True).set_input_files(str(text_file))
    page.get_by_role("button", name="Upload").click()
    assert page.get_by_text("not an image Herald accepts").is_visible()
    image = tmp_path / "logo.png"
    image.write_bytes(png(4, 4))
    page.get_by_label("Image", exact=True).set_input_files(str(image))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("“logo.png” uploaded.").wait_for()
    asset = MediaAsset.objects.get()
    image_url = page.locator("#media-table [data-copy]").first.get_attribute("data-copy")
    assert image_url.startswith(live_server.url + "/media/")
    page.screenshot(path=f"{SHOTS}/assets-media-library.png", full_page=True)

    # 3. The template, its preview rendering the block and the image as they will be sent.
    page.goto("/assets/email-templates/new/")
    page.get_by_label("Template name").fill("Order shipped")
    page.get_by_role("textbox", name="Subject").fill("Your order is on its way, {{${first_name}}}")
    page.get_by_label("HTML body").fill(
        f'<h1>Shipped!</h1><img src="{image_url}" alt="Acme">{{{{content_blocks.${{footer}}}}}}'
    )
    page.get_by_test_id("preview-subject").filter(has_text="Ada").wait_for()
    frame = page.frame_locator("iframe.preview-frame")
    assert frame.locator("footer").inner_text() == "Acme Inc. · Hi Ada"
    page.get_by_role("button", name="Save template").click()
    page.wait_for_url("**/assets/email-templates/*/")
    page.screenshot(path=f"{SHOTS}/assets-email-template.png", full_page=True)
    template = EmailTemplate.objects.get()
    assert page.get_by_test_id("email-template-id").inner_text() == template.email_template_id
    assert ContentBlock.objects.get().name == "footer"

    # 4. The developer sends it by ID; the email arrives at the SMTP server.
    Profile.objects.create(external_id="grace", first_name="Grace", email="grace@example.test")
    _, key = make_api_key(permissions=["messages.send"])
    request = urllib.request.Request(
        live_server.url + "/messages/send", method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        data=json.dumps({"external_user_ids": ["grace"], "messages": {"email": {
            "app_id": "shop", "from": "Acme <orders@acme.test>",
            "email_template_id": template.email_template_id}}}).encode(),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert recipients == ["grace@example.test"]
    assert message["Subject"] == "Your order is on its way, Grace"
    html = message.get_body(("html",)).get_content()
    assert "<h1>Shipped!</h1>" in html
    assert "<footer>Acme Inc. · Hi Grace</footer>" in html
    assert image_url in html
    # The image URL in the email answers with the uploaded bytes.
    with urllib.request.urlopen(image_url, timeout=10) as served:
        assert served.headers["Content-Type"] == "image/png"
        assert served.read() == png(4, 4)
    assert asset.size == len(png(4, 4))
