"""npm braze-api's template and content block methods parse Herald's answers."""

from __future__ import annotations

import pytest

from assets.models import ContentBlock, EmailTemplate

pytestmark = pytest.mark.django_db(transaction=True)


def test_templates_and_content_blocks(braze_node, api_key):
    answer = braze_node("assets.mjs", api_key[1])
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
    assert answer["unknownTemplate"]["message"] != "accepted"
    assert EmailTemplate.objects.get().subject == "Thank you {{${first_name}}}"
    assert ContentBlock.objects.get().state == "active"
