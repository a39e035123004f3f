"""/templates/email/{create,update,list,info} and /content_blocks/{create,update,list,info}."""

from __future__ import annotations

import uuid

import pytest

from assets.models import ContentBlock, EmailTemplate
from campaigns.models import Tag

pytestmark = pytest.mark.django_db

TEMPLATE = {"template_name": "Receipt", "subject": "Your order {{${first_name}}}",
            "body": "<p>Thanks</p>", "plaintext_body": "Thanks", "preheader": "It ships today"}


def create_template(api, **fields):
    response = api.post("/templates/email/create", {**TEMPLATE, **fields})
    assert response.status_code == 201, response.json()
    return response.json()["email_template_id"]


def test_template_create_then_info_round_trip(api):
    Tag.objects.create(name="orders")
    template_id = create_template(api, tags=["orders"], should_inline_css=True)
    answer = api.get("/templates/email/info", {"email_template_id": template_id}).json()
    assert answer["message"] == "success"
    assert answer["template_name"] == "Receipt"
    assert answer["subject"] == TEMPLATE["subject"]
    assert answer["body"] == "<p>Thanks</p>" and answer["plaintext_body"] == "Thanks"
    assert answer["preheader"] == "It ships today" and answer["should_inline_css"] is True
    assert answer["tags"] == ["orders"]
    assert answer["created_at"].endswith("Z") or "+00:00" in answer["created_at"]


@pytest.mark.parametrize(("body", "field"), [
    ({"subject": "s", "body": "b"}, "template_name"),
    ({"template_name": "n", "body": "b"}, "subject"),
    ({"template_name": "n", "subject": "s"}, "body"),
    ({**TEMPLATE, "tags": "orders"}, "tags"),
    ({**TEMPLATE, "colour": "red"}, "colour"),
    ({**TEMPLATE, "body": "{% if %}"}, "body"),
    ({**TEMPLATE, "body": "x" * (400 * 1024 + 1)}, "body"),
])
def test_template_create_refuses_bad_bodies_writing_nothing(api, body, field):
    response = api.post("/templates/email/create", body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["message"]
    assert any(field in error for error in answer.get("errors", [answer["message"]]))
    assert not EmailTemplate.objects.exists()


def test_template_create_refuses_unknown_tags(api):
    response = api.post("/templates/email/create", {**TEMPLATE, "tags": ["nope"]})
    assert response.status_code == 400
    assert response.json()["message"] == "Some tags could not be found"
    assert not EmailTemplate.objects.exists()


def test_template_update_changes_only_what_is_given(api):
    template_id = create_template(api)
    response = api.post("/templates/email/update",
                        {"email_template_id": template_id, "subject": "New subject"})
    assert response.status_code == 201
    assert response.json() == {"message": "success", "email_template_id": template_id}
    template = EmailTemplate.objects.get()
    assert template.subject == "New subject" and template.body == "<p>Thanks</p>"


def test_template_update_refuses_unknown_id_and_empty_update(api):
    unknown = api.post("/templates/email/update",
                       {"email_template_id": str(uuid.uuid4()), "subject": "x"})
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "Invalid Email Template ID"
    template_id = create_template(api)
    empty = api.post("/templates/email/update", {"email_template_id": template_id})
    assert empty.status_code == 400


def test_template_info_refuses_unknown_id(api):
    for value in ("not-a-uuid", str(uuid.uuid4())):
        response = api.get("/templates/email/info", {"email_template_id": value})
        assert response.status_code == 400
        assert response.json()["message"] == "Invalid Email Template ID"


def test_template_list_pages_and_filters(api):
    ids = [create_template(api, template_name=f"T{i}") for i in range(3)]
    answer = api.get("/templates/email/list").json()
    assert answer["count"] == 3
    assert [t["email_template_id"] for t in answer["templates"]] == ids[::-1]
    page = api.get("/templates/email/list", {"limit": 2, "offset": 2}).json()
    assert [t["email_template_id"] for t in page["templates"]] == [ids[0]]
    future = api.get("/templates/email/list", {"modified_after": "2999-01-01T00:00:00Z"}).json()
    assert future["count"] == 0
    assert api.get("/templates/email/list", {"limit": 1001}).status_code == 400
    assert api.get("/templates/email/list", {"limit": 0}).status_code == 400


def test_template_endpoints_need_their_permission(api, make_api_key):
    _, key = make_api_key(permissions=["templates.email.list"])
    assert api.get("/templates/email/list", key=key).status_code == 200
    refused = api.post("/templates/email/create", TEMPLATE, key=key)
    assert refused.status_code == 403
    assert refused.json()["errors"] == ["this API key lacks the templates.email.create permission"]
    assert not EmailTemplate.objects.exists()


# --- Content blocks ---------------------------------------------------------------------------


def create_block(api, **fields):
    body = {"name": "footer", "content": "<p>Acme Inc.</p>", **fields}
    response = api.post("/content_blocks/create", body)
    assert response.status_code == 201, response.json()
    return response.json()


def test_block_create_answers_its_liquid_tag_and_info_reads_it(api):
    created = create_block(api, description="Legal footer")
    assert created["liquid_tag"] == "{{content_blocks.${footer}}}"
    assert created["message"] == "success"
    answer = api.get("/content_blocks/info", {"content_block_id": created["content_block_id"],
                                               "include_inclusion_data": "true"}).json()
    assert answer["name"] == "footer" and answer["content"] == "<p>Acme Inc.</p>"
    assert answer["description"] == "Legal footer" and answer["content_type"] == "html"
    assert answer["state"] == "active" and answer["inclusion_data"] == []
    assert answer["inclusion_count"] == 0


def test_block_inclusion_count_counts_templates_that_include_it(api):
    created = create_block(api)
    create_template(api, body="<p>Hi</p>{{content_blocks.${footer}}}")
    listed = api.get("/content_blocks/list").json()
    assert listed["count"] == 1
    assert listed["content_blocks"][0]["inclusion_count"] == 1
    assert listed["content_blocks"][0]["content_block_id"] == created["content_block_id"]


@pytest.mark.parametrize(("body", "text"), [
    ({"content": "x"}, "name"),
    ({"name": "a" * 100, "content": "x"}, "name"),
    ({"name": "has space", "content": "x"}, "name"),
    ({"name": "ok", "content": ""}, "content"),
    ({"name": "ok", "content": "x" * (50 * 1024 + 1)}, "content"),
    ({"name": "ok", "content": "x", "description": "d" * 250}, "description"),
    ({"name": "ok", "content": "x", "state": "live"}, "state"),
    ({"name": "ok", "content": "{{ oops"}, "content"),
])
def test_block_create_refuses_bad_bodies_writing_nothing(api, body, text):
    response = api.post("/content_blocks/create", body)
    assert response.status_code == 400, response.json()
    answer = response.json()
    assert any(text in error for error in answer.get("errors", [])) or text in answer["message"]
    assert not ContentBlock.objects.exists()


def test_block_names_are_unique(api):
    create_block(api)
    response = api.post("/content_blocks/create", {"name": "footer", "content": "again"})
    assert response.status_code == 400
    assert response.json()["message"] == "Content Block with this name already exists"
    assert ContentBlock.objects.count() == 1


def test_block_update_renames_and_refuses_active_to_draft(api):
    created = create_block(api)
    block_id = created["content_block_id"]
    renamed = api.post("/content_blocks/update", {"content_block_id": block_id, "name": "legal"})
    assert renamed.status_code == 201
    assert renamed.json()["liquid_tag"] == "{{content_blocks.${legal}}}"
    draft = api.post("/content_blocks/update", {"content_block_id": block_id, "state": "draft"})
    assert draft.status_code == 400
    assert draft.json()["message"].startswith("Active Content Block can not be updated to Draft")
    assert ContentBlock.objects.get().state == "active"
    unknown = api.post("/content_blocks/update",
                       {"content_block_id": str(uuid.uuid4()), "content": "x"})
    assert unknown.json()["message"] == "Invalid Content Block ID"


def test_block_draft_can_become_active(api):
    created = create_block(api, state="draft")
    response = api.post("/content_blocks/update",
                        {"content_block_id": created["content_block_id"], "state": "active"})
    assert response.status_code == 201
    assert ContentBlock.objects.get().state == "active"


def test_block_list_limits(api):
    for i in range(3):
        create_block(api, name=f"b{i}")
    assert api.get("/content_blocks/list", {"limit": 2}).json()["count"] == 2
    assert api.get("/content_blocks/list", {"limit": 2000}).status_code == 400
    assert api.get("/content_blocks/info", {"content_block_id": "x"}).status_code == 400
