"""The send endpoints in the OpenAPI document, generated from the schemas that validate them."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_send_endpoints_are_documented_from_their_schemas(client):
    document = client.get("/api/openapi.json").json()
    validate(document)
    send = document["paths"]["/messages/send"]["post"]
    assert send["x-permission"] == "messages.send"
    assert "201" in send["responses"]
    body_ref = send["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[
        1
    ]
    schemas = document["components"]["schemas"]
    body = schemas[body_ref]
    assert {
        "external_user_ids",
        "user_aliases",
        "broadcast",
        "segment_id",
        "campaign_id",
        "send_id",
        "recipient_subscription_state",
        "messages",
    } <= set(body["properties"])
    messages = schemas["Messages"]["properties"]
    assert set(messages) == {
        "apple_push",
        "android_push",
        "kindle_push",
        "web_push",
        "email",
        "sms",
        "webhook",
        "content_card",
    }
    assert "from" in schemas["Email"]["properties"]
    assert "content-available" in schemas["ApplePush"]["properties"]
    assert document["paths"]["/sends/id/create"]["post"]["x-permission"] == "sends.id.create"
    feed = document["paths"]["/content_cards/feed"]["get"]
    assert feed["parameters"][0]["name"] == "external_id"
    # Not a REST key: the app authenticates with its signed token.
    assert document["paths"]["/content_cards/sdk/feed"]["get"].get("security", []) == []


def test_connected_audience_is_documented_as_a_filter_tree(client):
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    audience = schemas["SendBody"]["properties"]["audience"]
    refs = {item["$ref"].rsplit("/", 1)[1] for item in audience["anyOf"] if "$ref" in item}
    assert refs == {
        "CustomAttributeFilter",
        "PushSubscriptionFilter",
        "EmailSubscriptionFilter",
        "AudienceAnd",
        "AudienceOr",
    }
    # AND/OR items are the same union again: the tree nests.
    nested = schemas["AudienceAnd"]["properties"]["AND"]["items"]
    assert {item["$ref"].rsplit("/", 1)[1] for item in nested["anyOf"]} == refs
    comparisons = set(schemas["CustomAttributeCondition"]["properties"]["comparison"]["enum"])
    assert {"matches_regex", "includes_value", "greater_than", "before", "exists"} <= comparisons
    assert "last_used_app" not in str(audience)
