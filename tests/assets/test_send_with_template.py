"""/messages/send with `email_template_id` and content blocks, to a real SMTP server."""

from __future__ import annotations

import pytest

from assets import services
from assets.models import ContentBlock
from messaging.models import Dispatch

pytestmark = pytest.mark.django_db


def _block(name, content, state="active"):
    return services.content_block_create(
        fields=services.BlockFields(name=name, content=content, state=state))


def _template(**fields):
    base = {"name": "Receipt", "subject": "Order for {{${first_name}}}",
            "body": "<p>Hi {{${first_name}}}</p>{{content_blocks.${footer}}}",
            "preheader": "Thanks for your order"}
    return services.email_template_create(fields=services.TemplateFields(**{**base, **fields}))


def _send(api, email, recipients=("ada",)):
    return api.post("/messages/send", {"external_user_ids": list(recipients),
                                       "messages": {"email": email}})


EMAIL = {"app_id": "any", "from": "Acme <orders@acme.test>"}


def test_a_send_with_a_template_and_a_block_arrives_rendered(
    smtp, api, make_profile, django_capture_on_commit_callbacks
):
    make_profile(external_id="ada", first_name="Ada", email="ada@example.test")
    _block("footer", "<footer>Acme Inc. · {{${first_name}}}'s account</footer>")
    template = _template()
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(api, {**EMAIL, "email_template_id": template.email_template_id})
    assert response.status_code == 201, response.json()
    assert len(smtp.messages) == 1
    (recipients, message) = smtp.messages[0]
    assert recipients == ["ada@example.test"]
    assert message["Subject"] == "Order for Ada"
    html = message.get_body(("html",)).get_content()
    assert "<p>Hi Ada</p>" in html
    assert "<footer>Acme Inc. · Ada's account</footer>" in html
    assert "Thanks for your order" in html  # the template's preheader
    # The dispatch keeps the expanded copy: a later edit of the block changes nothing sent.
    stored = Dispatch.objects.get().messages["email"]
    assert "content_blocks" not in stored["body"]


def test_fields_of_the_message_object_override_the_template(
    smtp, api, make_profile, django_capture_on_commit_callbacks
):
    make_profile(external_id="ada", first_name="Ada", email="ada@example.test")
    _block("footer", "<i>f</i>")
    template = _template()
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(api, {**EMAIL, "email_template_id": template.email_template_id,
                               "subject": "Overridden"})
    assert response.status_code == 201
    assert smtp.messages[0][1]["Subject"] == "Overridden"


def test_content_blocks_nest_and_reach_every_channel_field(api, make_profile):
    make_profile(external_id="ada")
    _block("inner", "deep")
    _block("outer", "[{{content_blocks.${inner}}}]")
    response = api.post("/messages/send", {"external_user_ids": ["ada"], "messages": {
        "webhook": {"url": "https://hooks.example.test/x", "request_method": "POST",
                    "body": "{{content_blocks.${outer}}}"}}})
    assert response.status_code == 201
    assert Dispatch.objects.get().messages["webhook"]["body"] == "[deep]"


@pytest.mark.parametrize(("blocks", "body", "detail"), [
    ({}, "{{content_blocks.${missing}}}", "no active content block named 'missing'"),
    ({"wip": ("x", "draft")}, "{{content_blocks.${wip}}}", "no active content block named 'wip'"),
    ({"a": ("{{content_blocks.${b}}}", "active"), "b": ("{{content_blocks.${c}}}", "active"),
      "c": ("{{content_blocks.${d}}}", "active"), "d": ("x", "active")},
     "{{content_blocks.${a}}}", "nested over 3 deep"),
    ({"me": ("{{content_blocks.${me}}}", "active")}, "{{content_blocks.${me}}}",
     "includes itself"),
])
def test_a_send_with_a_bad_content_block_is_refused_and_leaves_nothing(
    api, make_profile, blocks, body, detail
):
    make_profile(external_id="ada")
    for name, (content, state) in blocks.items():
        # Written directly: the services refuse nothing here, the send must.
        ContentBlock.objects.create(name=name, content=content, state=state)
    response = _send(api, {**EMAIL, "subject": "s", "body": body})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error.startswith("messages.email.body: Content Block: ") and detail in error
    assert not Dispatch.objects.exists()


def test_an_unknown_template_is_refused(api, make_profile):
    make_profile(external_id="ada")
    response = _send(api, {**EMAIL, "email_template_id": "0b8e3f42-97a5-4d0d-8d6c-4a3f2b1c0d9e"})
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Email Template ID"
    assert not Dispatch.objects.exists()


def test_an_email_needs_a_body_or_a_template(api, make_profile):
    make_profile(external_id="ada")
    response = _send(api, {**EMAIL, "subject": "s"})
    assert response.status_code == 400
    assert "body is required unless email_template_id is given" in str(response.json())
