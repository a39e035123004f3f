"""Templates & Media pages: roles, empty states, the rendered preview, uploads refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assets import services
from assets.models import EmailTemplate, MediaAsset
from tests.assets.images import png

pytestmark = pytest.mark.django_db


def test_pages_show_their_empty_states(marketer_client):
    for url, text in (("/assets/email-templates/", "No email templates yet"),
                      ("/assets/content-blocks/", "No content blocks yet"),
                      ("/assets/media/", "No images yet")):
        response = marketer_client.get(url)
        assert response.status_code == 200
        assert text in response.content.decode()


def test_a_viewer_reads_but_cannot_create(client, make_user):
    client.force_login(make_user("viewer", role="Viewer"))
    assert client.get("/assets/email-templates/").status_code == 200
    refused = client.post("/assets/email-templates/new/", {
        "name": "x", "subject": "s", "body": "b"})
    assert refused.status_code == 403
    assert client.post("/assets/media/", {"file": SimpleUploadedFile(
        "a.png", png(), content_type="image/png")}).status_code == 403
    assert not EmailTemplate.objects.exists() and not MediaAsset.objects.exists()


def test_no_role_is_refused(client, make_user):
    client.force_login(make_user("nobody"))
    assert client.get("/assets/content-blocks/").status_code == 403


def test_the_preview_renders_blocks_and_liquid_for_the_sample_profile(marketer_client):
    services.content_block_create(
        fields=services.BlockFields(name="sig", content="— {{${first_name}}}"))
    response = marketer_client.post(
        "/assets/email-templates/new/",
        {"action": "preview", "subject": "Hi {{${first_name}}}",
         "body": "<p>Body</p>{{content_blocks.${sig}}}"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "Hi Ada" in html and "&lt;p&gt;Body&lt;/p&gt;— Ada" in html
    assert not EmailTemplate.objects.exists()
    broken = marketer_client.post("/assets/email-templates/new/", {
        "action": "preview", "subject": "s", "body": "{{content_blocks.${nope}}}"},
        headers={"HX-Request": "true"})
    assert "no active content block named &#x27;nope&#x27;" in broken.content.decode()


def test_saving_a_template_with_bad_liquid_shows_the_error_and_saves_nothing(marketer_client):
    response = marketer_client.post("/assets/email-templates/new/", {
        "name": "T", "subject": "s", "body": "<p>ok</p>"})
    assert response.status_code == 302
    template = EmailTemplate.objects.get()
    page = marketer_client.get(f"/assets/email-templates/{template.email_template_id}/")
    assert template.email_template_id in page.content.decode()


@pytest.mark.parametrize(("name", "data", "text"), [
    ("notes.png", b"just text", "not an image Herald accepts"),
    ("fake.gif", b"GIF89a", "cannot be read"),
    ("big.png", png() + b"\0" * (5 * 1024 * 1024), "over the limit of 5 MB"),
])
def test_an_upload_of_a_wrong_type_or_size_is_refused(marketer_client, name, data, text):
    response = marketer_client.post("/assets/media/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 400
    assert text in response.content.decode()
    assert not MediaAsset.objects.exists()


def test_an_uploaded_image_is_served_until_it_is_deleted(
    marketer_client, client, settings, django_capture_on_commit_callbacks
):
    response = marketer_client.post("/assets/media/", {
        "file": SimpleUploadedFile("logo.png", png(3, 5))})
    assert response.status_code == 302
    asset = MediaAsset.objects.get()
    assert (asset.width, asset.height, asset.content_type) == (3, 5, "image/png")
    url = f"/media/{asset.api_id.hex}.png"
    served = client.get(url)  # anonymous: emails load it
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png(3, 5)
    assert client.get(f"/media/{asset.api_id.hex}.gif").status_code == 404
    listing = marketer_client.get("/assets/media/").content.decode()
    assert f'data-copy="{settings.SITE_URL}{url}"' in listing
    stored = asset.file.name
    with django_capture_on_commit_callbacks(execute=True):
        marketer_client.post(f"/assets/media/{asset.api_id}/delete/")
    assert client.get(url).status_code == 404
    assert not asset.file.storage.exists(stored)


def test_a_block_page_previews_its_content(marketer_client):
    block = services.content_block_create(
        fields=services.BlockFields(name="hello", content="<b>Hi {{${first_name}}}</b>"))
    page = marketer_client.get(f"/assets/content-blocks/{block.content_block_id}/")
    html = page.content.decode()
    assert 'srcdoc="&lt;b&gt;Hi Ada&lt;/b&gt;"' in html
    assert "{{content_blocks.${hello}}}" in html
    assert marketer_client.get("/assets/content-blocks/not-an-id/").status_code == 404
