"""POST /messages/send: every message object valid and invalid, recipients, campaign rules."""

from __future__ import annotations

import copy

import pytest

from messaging.models import Delivery, Dispatch, SendIdentifier

pytestmark = pytest.mark.django_db

VALID = {
    "apple_push": {
        "alert": {"title": "Shipped", "body": "On its way"},
        "badge": 1,
        "sound": "default",
        "extra": {"order": "42"},
        "custom_uri": "acme://orders",
        "interruption_level": "active",
        "relevance_score": 0.5,
        "apns_priority": 10,
        "buttons": [{"action_id": "open", "action": "URI", "uri": "https://acme.test"}],
    },
    "android_push": {
        "alert": "On its way",
        "title": "Shipped",
        "extra": {"k": "v"},
        "priority": 1,
        "android_priority": "high",
        "time_to_live": 3600,
        "buttons": [{"text": "Open", "action": "OPEN_APP"}],
    },
    "kindle_push": {"alert": "On its way", "title": "Shipped", "priority": 0},
    "web_push": {
        "alert": "On its way",
        "title": "Shipped",
        "require_interaction": True,
        "buttons": [{"text": "Close", "action": "CLOSE"}],
    },
    "email": {
        "app_id": "app-1",
        "from": "Acme <orders@acme.test>",
        "subject": "Hi",
        "body": "<p>Hello</p>",
        "reply_to": "help@acme.test",
        "preheader": "Your order",
        "headers": {"X-Campaign": "spring"},
        "extras": {"k": "v"},
    },
    "sms": {"app_id": "app-1", "subscription_group_id": "sg-1", "body": "Shipped!"},
    "webhook": {
        "url": "https://hooks.acme.test/x",
        "request_method": "POST",
        "request_headers": {"Content-Type": "application/json"},
        "body": '{"a": 1}',
    },
    "content_card": {
        "type": "CLASSIC",
        "title": "Sale",
        "description": "50% off",
        "time_to_live": 86400,
        "web_uri": "https://acme.test/sale",
        "extra": {"k": "v"},
    },
}

INVALID = [
    ("apple_push", {"badge": 1}, "alert"),
    ("apple_push", {"alert": "x", "relevance_score": 2}, "relevance_score"),
    ("apple_push", {"alert": "x", "asset_url": "https://a.test/i.png"}, "asset_file_type"),
    ("apple_push", {"alert": "x", "extra": {"aps": {}}}, "reserved"),
    ("apple_push", {"alert": "x", "interruption_level": "loud"}, "interruption_level"),
    ("apple_push", {"alert": "x", "category": "mine", "buttons": [{"action_id": "a"}]}, "category"),
    ("android_push", {"alert": "x"}, "title"),
    ("android_push", {"send_to_sync": True, "alert": "x"}, "send_to_sync"),
    ("android_push", {"alert": "x", "title": "t", "time_to_live": 99999999}, "time_to_live"),
    ("kindle_push", {"alert": "x"}, "title"),
    ("web_push", {"title": "t"}, "alert"),
    ("web_push", {"alert": "x", "title": "t", "buttons": [{"action": "URI"}]}, "text"),
    ("email", {"from": "a@b.test", "body": "x"}, "app_id"),
    ("email", {"app_id": "a", "body": "x"}, "from"),
    ("email", {"app_id": "a", "from": "a@b.test"}, "body"),
    (
        "email",
        {"app_id": "a", "from": "a@b.test", "body": "x", "headers": {"Subject": "x"}},
        "headers",
    ),
    ("email", {"app_id": "a", "from": "a@b.test", "body": "x", "subjet": "typo"}, "subjet"),
    ("sms", {"app_id": "a", "body": "x"}, "subscription_group_id"),
    ("sms", {"app_id": "a", "subscription_group_id": "g", "body": ""}, "body"),
    ("webhook", {"url": "https://a.test"}, "request_method"),
    ("webhook", {"url": "ftp://a.test", "request_method": "POST"}, "url"),
    ("webhook", {"url": "https://a.test", "request_method": "PATCH"}, "request_method"),
    ("content_card", {"type": "CLASSIC", "title": "t", "description": "d"}, "time_to_live"),
    (
        "content_card",
        {"type": "BANNER", "title": "", "description": "d", "time_to_live": 60},
        "image_url",
    ),
    (
        "content_card",
        {"type": "CLASSIC", "title": "t", "description": "d", "time_to_live": 31 * 86400},
        "time_to_live",
    ),
    (
        "content_card",
        {"type": "CLASSIC", "title": "t", "description": "d", "expire_at": "2020-01-01T00:00:00Z"},
        "past",
    ),
    (
        "content_card",
        {"type": "POPUP", "title": "t", "description": "d", "time_to_live": 60},
        "type",
    ),
]


def body(messages, **extra):
    return {"external_user_ids": ["user-1"], "messages": messages, **extra}


@pytest.mark.parametrize("channel", list(VALID))
def test_each_valid_message_object_is_accepted(api, make_profile, channel):
    make_profile()
    response = api.post("/messages/send", body({channel: VALID[channel]}))
    assert response.status_code == 201, response.json()
    dispatch = Dispatch.objects.get(dispatch_id=response.json()["dispatch_id"])
    assert list(dispatch.messages) == [channel]


@pytest.mark.parametrize(
    ("channel", "message", "named"), INVALID, ids=[f"{c}-{n}" for c, _, n in INVALID]
)
def test_each_invalid_message_object_is_refused_naming_the_problem(
    api, make_profile, channel, message, named
):
    make_profile()
    response = api.post("/messages/send", body({channel: message}))
    assert response.status_code == 400
    payload = response.json()
    text = payload["message"] + " ".join(payload.get("errors", []))
    assert channel in text and named in text, payload
    assert not Dispatch.objects.exists()


def test_all_channels_in_one_request(api, make_profile):
    make_profile()
    response = api.post("/messages/send", body(copy.deepcopy(VALID)))
    assert response.status_code == 201
    assert set(Dispatch.objects.get().messages) == set(VALID)


def test_other_spellings_are_accepted_and_stored_under_current_names(api, make_profile):
    make_profile()
    response = api.post(
        "/messages/send", body({"ios_push": {"alert": "x"}, "content_cards": VALID["content_card"]})
    )
    assert response.status_code == 201
    assert set(Dispatch.objects.get().messages) == {"apple_push", "content_card"}


def test_booleans_written_as_strings_are_accepted(api, make_profile):
    make_profile()
    response = api.post(
        "/messages/send",
        body(
            {"web_push": {**VALID["web_push"], "require_interaction": "false"}}, broadcast="false"
        ),
    )
    assert response.status_code == 201
    assert Dispatch.objects.get().messages["web_push"]["require_interaction"] is False


def test_extra_that_is_not_an_object_gets_brazes_error(api, make_profile):
    make_profile()
    response = api.post("/messages/send", body({"apple_push": {"alert": "x", "extra": "nope"}}))
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Extra Push Payload"


def test_nul_anywhere_in_the_body_is_refused_up_front(api, make_profile):
    make_profile()
    response = api.post("/messages/send", body({"sms": {**VALID["sms"], "body": "a\x00b"}}))
    assert response.status_code == 400
    error = "messages.sms.body: text must not contain NUL characters"
    assert response.json() == {"message": error, "errors": [error]}
    assert not Dispatch.objects.exists()


def test_apple_push_over_1912_bytes_is_refused(api, make_profile):
    make_profile()
    ok = api.post("/messages/send", body({"apple_push": {"alert": "é" * 900}}))
    assert ok.status_code == 201
    response = api.post("/messages/send", body({"apple_push": {"alert": "é" * 960}}))
    assert response.status_code == 400
    assert response.json()["message"] == "Apple Push Length Exceeded"


def test_android_push_over_4000_bytes_is_refused(api, make_profile):
    make_profile()
    message = {"alert": "a" * 3000, "title": "t", "extra": {"k": "b" * 1000}}
    response = api.post("/messages/send", body({"android_push": message}))
    assert response.status_code == 400
    assert response.json()["message"] == "Android Push Length Exceeded"


def test_unsupported_channel_is_named(api, make_profile):
    make_profile()
    response = api.post("/messages/send", body({"whats_app": {"app_id": "a"}}))
    assert response.status_code == 400
    assert "whats_app" in " ".join(response.json()["errors"])


@pytest.mark.parametrize(
    "payload",
    [{"external_user_ids": ["user-1"]}, {"external_user_ids": ["user-1"], "messages": {}}],
)
def test_no_message_to_send(api, payload):
    response = api.post("/messages/send", payload)
    assert response.status_code == 400
    assert response.json()["message"] == "No message to send"


# --- Recipients -------------------------------------------------------------------------------


def test_no_recipients(api):
    response = api.post("/messages/send", {"messages": {"sms": VALID["sms"]}})
    assert response.status_code == 400
    assert response.json()["message"] == "No Recipients"


def test_fifty_recipients_pass_and_fifty_one_are_refused_with_brazes_text(api):
    ids = [f"u{i}" for i in range(40)]
    aliases = [{"alias_name": f"a{i}", "alias_label": "crm"} for i in range(10)]
    ok = api.post(
        "/messages/send",
        {"external_user_ids": ids, "user_aliases": aliases, "messages": {"sms": VALID["sms"]}},
    )
    assert ok.status_code == 201
    aliases.append({"alias_name": "one-more", "alias_label": "crm"})
    response = api.post(
        "/messages/send",
        {"external_user_ids": ids, "user_aliases": aliases, "messages": {"sms": VALID["sms"]}},
    )
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "The max number of external_ids and aliases per request was exceeded"
    )


def test_broadcast_with_a_list_is_refused(api):
    response = api.post("/messages/send", body({"sms": VALID["sms"]}, broadcast=True))
    assert response.status_code == 400
    assert "broadcast" in response.json()["errors"][0]


def test_unknown_recipients_are_reported_but_the_others_are_sent(
    api, make_profile, django_capture_on_commit_callbacks
):
    make_profile(external_id="known", phone="+15550001")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send",
            {"external_user_ids": ["known", "ghost", "known"], "messages": {"sms": VALID["sms"]}},
        )
    assert response.status_code == 201
    payload = response.json()
    assert payload["message"] == "success"
    assert payload["errors"] == ["external_user_ids: no user with external_id 'ghost'"]
    # Duplicates get one message.
    assert Delivery.objects.filter(channel="sms").count() == 1


def test_unknown_segment_is_a_clear_400(api):
    response = api.post(
        "/messages/send",
        {"broadcast": True, "segment_id": "nope", "messages": {"sms": VALID["sms"]}},
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Segment ID"


def _deep(levels):
    tree = {"custom_attribute": {"custom_attribute_name": "a", "comparison": "exists"}}
    for _ in range(levels):
        tree = {"AND": [tree]}
    return tree


LEAF = {"custom_attribute_name": "plan", "comparison": "equals", "value": "gold"}


@pytest.mark.parametrize(
    ("audience", "error"),
    [
        ({"AND": []}, "audience.AND: must be a non-empty list of filters"),
        ("gold", "audience: must be an object with exactly one key"),
        ({"AND": [{"custom_attribute": LEAF}], "OR": []}, "audience: must be an object"),
        (
            {
                "OR": [
                    {"custom_attribute": LEAF},
                    {"custom_attribute": {**LEAF, "comparison": "eq"}},
                ]
            },
            "audience.OR[1].custom_attribute.comparison: unknown comparison 'eq'",
        ),
        (
            {"AND": [{"OR": [{"custom_attribute": {**LEAF, "value": None}}]}]},
            "audience.AND[0].OR[0].custom_attribute.value: required for comparison 'equals'",
        ),
        (
            {"custom_attribute": {**LEAF, "comparison": "matches_regex", "value": "(unclosed"}},
            "audience.custom_attribute.value: invalid regular expression",
        ),
        (
            {"custom_attribute": {**LEAF, "comparison": "greater_than", "value": "10"}},
            "audience.custom_attribute.value: must be a number for 'greater_than'",
        ),
        (
            {"custom_attribute": {**LEAF, "comparison": "after", "value": "yesterday"}},
            "audience.custom_attribute.value: must be an ISO 8601 time",
        ),
        (
            {"custom_attribute": {"comparison": "exists"}},
            "audience.custom_attribute.custom_attribute_name: must be a non-empty string",
        ),
        (
            {"push_subscription_status": {"comparison": "is", "value": "maybe"}},
            "audience.push_subscription_status.value: must be one of",
        ),
        (
            {"last_used_app": {"comparison": "after", "value": "2030-01-01T00:00:00Z"}},
            "audience.last_used_app: not supported",
        ),
        ({"segment": {"id": "x"}}, "audience: unknown filter 'segment'"),
        (_deep(11), "nested more than 10 levels deep"),
        ({"OR": [{"custom_attribute": LEAF}] * 101}, "more than 100 filters"),
    ],
)
def test_bad_connected_audience_is_a_400_naming_the_path(api, audience, error):
    response = api.post(
        "/messages/send",
        {"broadcast": True, "audience": audience, "messages": {"sms": VALID["sms"]}},
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["message"] == "Bad Request"
    assert any(error in text for text in answer["errors"]), answer
    assert not Dispatch.objects.exists()


def test_audience_without_broadcast_or_recipients_is_refused(api):
    response = api.post(
        "/messages/send",
        {"audience": {"custom_attribute": LEAF}, "messages": {"sms": VALID["sms"]}},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["broadcast: must be true to send to a whole audience"]


def test_nested_audience_at_the_depth_limit_is_accepted(api):
    response = api.post(
        "/messages/send",
        {"broadcast": True, "audience": _deep(10), "messages": {"sms": VALID["sms"]}},
    )
    assert response.status_code == 201, response.json()


# --- Campaign, variations, send_id -------------------------------------------------------------


def test_unknown_campaign(api):
    for campaign_id in ("not-a-uuid", "4f1c2b8e-7d3a-4c11-9e0b-5a6f2d1c9e77"):
        response = api.post("/messages/send", body({"sms": VALID["sms"]}, campaign_id=campaign_id))
        assert response.status_code == 400
        assert response.json()["message"] == "Invalid Campaign ID"


def test_archived_campaign_is_refused(api, campaign, variation):
    campaign.status = campaign.Status.ARCHIVED
    campaign.save()
    message = {**VALID["sms"], "message_variation_id": variation("sms")}
    response = api.post("/messages/send", body({"sms": message}, campaign_id=campaign.campaign_id))
    assert response.status_code == 400
    assert "archived" in response.json()["message"]


def test_variation_is_required_with_a_campaign(api, campaign):
    response = api.post(
        "/messages/send", body({"sms": VALID["sms"]}, campaign_id=campaign.campaign_id)
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Message Variant Unspecified"


def test_variation_of_another_campaign_is_invalid(api, campaign):
    from campaigns.models import Campaign, MessageVariation

    other = Campaign.objects.create(name="Other", status="active")
    foreign = MessageVariation.objects.create(campaign=other, channel="sms", name="x")
    message = {**VALID["sms"], "message_variation_id": foreign.message_variation_id}
    response = api.post("/messages/send", body({"sms": message}, campaign_id=campaign.campaign_id))
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Message Variant"


def test_variation_of_another_channel_is_mismatched(api, campaign, variation):
    message = {**VALID["sms"], "message_variation_id": variation("email")}
    response = api.post("/messages/send", body({"sms": message}, campaign_id=campaign.campaign_id))
    assert response.status_code == 400
    assert response.json()["message"] == "Mismatched Message Type"


def test_send_id_must_exist_for_the_campaign(api, campaign, variation, make_profile):
    make_profile()
    message = {**VALID["sms"], "message_variation_id": variation("sms")}
    response = api.post(
        "/messages/send", body({"sms": message}, campaign_id=campaign.campaign_id, send_id="wave-1")
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid Send ID"
    SendIdentifier.objects.create(campaign=campaign, send_id="wave-1")
    response = api.post(
        "/messages/send", body({"sms": message}, campaign_id=campaign.campaign_id, send_id="wave-1")
    )
    assert response.status_code == 201
    assert Dispatch.objects.get().send_id == "wave-1"


def test_broadcast_without_send_id_gets_a_generated_one(api, campaign, variation):
    message = {**VALID["sms"], "message_variation_id": variation("sms")}
    response = api.post(
        "/messages/send",
        {"broadcast": True, "campaign_id": campaign.campaign_id, "messages": {"sms": message}},
    )
    assert response.status_code == 201
    send_id = response.json()["send_id"]
    assert Dispatch.objects.get().send_id == send_id
    assert SendIdentifier.objects.get(send_id=send_id).generated is True


def test_push_app_id_is_checked_once_apps_of_that_platform_exist(api, make_profile):
    from messaging.models import App

    make_profile()
    push = {"alert": "x", "app_id": "made-up"}
    assert api.post("/messages/send", body({"apple_push": push})).status_code == 201
    app = App.objects.create(name="iOS", platform=App.Platform.IOS)
    response = api.post("/messages/send", body({"apple_push": push}))
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid App ID"
    assert (
        api.post("/messages/send", body({"apple_push": {**push, "app_id": app.app_id}})).status_code
        == 201
    )
    # Email accepts any app_id of the workspace (spec §1.1).
    assert api.post("/messages/send", body({"email": VALID["email"]})).status_code == 201


def test_liquid_syntax_error_is_a_400_naming_the_field(api, make_profile):
    make_profile()
    message = {**VALID["email"], "subject": "Hi {% if ${first_name} %}"}
    response = api.post("/messages/send", body({"email": message}))
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("messages.email.subject: Liquid syntax error")
    assert not Dispatch.objects.exists()


def test_send_requires_the_permission(api, make_api_key):
    _, key = make_api_key(permissions=["users.track"])
    response = api.post("/messages/send", body({"sms": VALID["sms"]}), key=key)
    assert response.status_code == 403
    assert response.json()["message"] == "Access Denied"


def test_body_over_the_cap_is_413(api, settings):
    settings.API_MAX_BODY_BYTES = 2000
    message = {**VALID["sms"], "body": "x" * 3000}
    response = api.post("/messages/send", body({"sms": message}))
    assert response.status_code == 413
    assert not Dispatch.objects.exists()


def test_broadcasts_count_against_their_own_rate_limit(api, settings):
    settings.RATE_LIMITS = {"messages.send.broadcast": (2, 60)}
    from django.core.cache import cache

    cache.clear()
    payload = {"broadcast": True, "messages": {"sms": VALID["sms"]}}
    first = api.post("/messages/send", payload)
    assert first.status_code == 201
    assert first["X-RateLimit-Limit"] == "2"
    assert api.post("/messages/send", payload).status_code == 201
    third = api.post("/messages/send", payload)
    assert third.status_code == 429
    assert third.json()["message"] == "Rate Limited"
    # Sends to listed users are not limited by the broadcast scope.
    assert api.post("/messages/send", body({"sms": VALID["sms"]})).status_code == 201


def test_sms_and_push_app_id_must_name_a_registered_app_once_any_exists(api, make_profile):
    from messaging.models import App

    make_profile()
    sms = {**VALID["sms"], "app_id": "3f1c0000-0000-4000-8000-000000000000"}
    # No App registered yet (a fresh install): any app_id is accepted.
    assert api.post("/messages/send", body({"sms": sms})).status_code == 201
    android = App.objects.create(name="Android", platform=App.Platform.ANDROID)
    before = Dispatch.objects.count()
    for message in ({"sms": sms}, {"kindle_push": {**VALID["kindle_push"], "app_id": "nope"}}):
        response = api.post("/messages/send", body(message))
        assert response.status_code == 400, message
        assert response.json()["message"] == "Invalid App ID"
        assert response.json()["errors"][0].startswith(f"messages.{next(iter(message))}.app_id")
    assert Dispatch.objects.count() == before  # nothing half-written
    # SMS takes any registered app, of any platform; push needs an app of its platform.
    known = {**sms, "app_id": android.app_id}
    assert api.post("/messages/send", body({"sms": known})).status_code == 201
    response = api.post(
        "/messages/send", body({"apple_push": {**VALID["apple_push"], "app_id": android.app_id}})
    )
    assert (response.status_code, response.json()["message"]) == (400, "Invalid App ID")
    assert "not an iOS app" in response.json()["errors"][0]
    # Email accepts any app_id of the workspace, registered or not (spec §1.1).
    email = {**VALID["email"], "app_id": "whatever"}
    assert api.post("/messages/send", body({"email": email})).status_code == 201
