"""npm braze-api's template and content block methods parse Herald's answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assets.models import ContentBlock, EmailTemplate
from messaging.models import Profile
from messaging.services.providers import subscription_group_create

pytestmark = pytest.mark.django_db(transaction=True)
ARTIFACT = Path(__file__).parents[2] / "test-artifacts" / "braze_api_assets.json"


def test_templates_content_blocks_and_subscription_groups(braze_node, api_key):
    group = subscription_group_create(name="Newsletter", channel="email")
    Profile.objects.create(external_id="ada", email="ada@example.test", standard_extras={
        "subscription_groups": {group.group_id: "subscribed"}})
    Profile.objects.create(external_id="bob")
    answer = braze_node("assets.mjs", api_key[1])
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(answer, indent=1))  # what the client parsed, for review
    block_id = answer["blockCreate"]["content_block_id"]
    assert answer["blockCreate"]["liquid_tag"] == "{{content_blocks.${footer}}}"
    assert answer["blockUpdate"]["content_block_id"] == block_id
    info = answer["blockInfo"]
    assert info["name"] == "footer" and info["state"] == "active"
    assert info["content"] == "<p>Acme Inc.</p>" and info["inclusion_data"] == []
    template_id = answer["templateCreate"]["email_template_id"]
    assert answer["templateUpdate"] == {"message": "success", "email_template_id": template_id}
    template = answer["templateInfo"]
    assert template["subject"] == "Thank you {{${first_name}}}"
    assert template["body"] == "<p>Paid.</p>{{content_blocks.${footer}}}"
    assert template["should_inline_css"] is False and template["preheader"] == "Your receipt"
    for listing in (answer["templateList"], answer["templateListAll"]):
        assert listing["count"] == 1
        assert listing["templates"][0]["email_template_id"] == template_id
    (listed,) = answer["blockList"]["content_blocks"]
    assert listed["content_block_id"] == block_id and listed["inclusion_count"] == 1
    assert answer["unknownTemplate"] == {"status": 400, "message": "Invalid Email Template ID"}
    assert EmailTemplate.objects.get().subject == "Thank you {{${first_name}}}"
    assert ContentBlock.objects.get().state == "active"
    users = answer["userStatus"]["users"]
    assert answer["userStatus"]["total_count"] == 2
    assert users[0]["subscription_groups"] == [
        {"id": group.group_id, "name": "Newsletter", "channel": "email", "status": "Subscribed"}]
    assert answer["unknownGroup"] == {"status": 400, "message": "Invalid subscription group ID"}
