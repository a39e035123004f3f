"""Property: no JSON body of any shape gets a 5xx from POST /messages/send."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
any_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

CHANNELS = [
    "apple_push",
    "ios_push",
    "android_push",
    "kindle_push",
    "web_push",
    "email",
    "sms",
    "webhook",
    "content_card",
    "content_cards",
    "whats_app",
]
FIELDS = [
    "alert",
    "title",
    "body",
    "extra",
    "from",
    "app_id",
    "url",
    "request_method",
    "type",
    "description",
    "time_to_live",
    "expire_at",
    "subject",
    "message_variation_id",
    "buttons",
    "headers",
    "priority",
    "content-available",
    "subscription_group_id",
    "request_headers",
    "badge",
    "image_url",
]
liquidish = st.sampled_from(
    [
        "{{${first_name}}}",
        "{% if %}",
        "{{",
        "{% abort_message() %}",
        "${x}",
        "{{custom_attribute.${a b}}}",
        "{% for x in (1..99999999) %}x{% endfor %}",
        "{% message_extras :key :value %}",
        "\x00",
        "é" * 3000,
    ]
)
message_objects = st.dictionaries(st.sampled_from(FIELDS), any_json | liquidish, max_size=8)
bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "external_user_ids": st.lists(st.text(max_size=8), max_size=60) | any_json,
            "user_aliases": st.lists(
                st.fixed_dictionaries(
                    {"alias_name": st.text(max_size=5), "alias_label": st.text(max_size=5)}
                ),
                max_size=3,
            )
            | any_json,
            "broadcast": st.booleans() | any_json,
            "segment_id": st.text(max_size=8) | any_json,
            "campaign_id": st.text(max_size=40) | any_json,
            "send_id": st.text(max_size=70) | any_json,
            "recipient_subscription_state": st.sampled_from(
                ["all", "opted_in", "subscribed", "nope"]
            )
            | any_json,
            "messages": st.dictionaries(
                st.sampled_from(CHANNELS), message_objects | any_json, max_size=3
            )
            | any_json,
        },
    )
    | any_json
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_send_never_answers_5xx(api, body):
    response = api.post("/messages/send", json.dumps(body))
    assert response.status_code < 500, (body, response.content[:300])
    payload = response.json()
    assert isinstance(payload.get("message"), str)
    if response.status_code >= 400:
        assert payload["message"] != "success"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_send_never_answers_5xx_to_raw_bytes(api, raw):
    response = api.post("/messages/send", raw)
    assert response.status_code < 500


text_or_liquid = st.text(max_size=40) | liquidish
near_valid = st.fixed_dictionaries(
    {
        "external_user_ids": st.just(["fuzz-user"]),
        "messages": st.fixed_dictionaries(
            {},
            optional={
                "email": st.fixed_dictionaries(
                    {"app_id": st.just("a"), "from": text_or_liquid, "body": text_or_liquid},
                    optional={
                        "subject": text_or_liquid,
                        "headers": any_json,
                        "reply_to": text_or_liquid,
                        "preheader": text_or_liquid,
                    },
                ),
                "webhook": st.fixed_dictionaries(
                    {
                        "url": st.just("https://example.test/") | text_or_liquid,
                        "request_method": st.sampled_from(["POST", "GET", "x"]),
                    },
                    optional={"body": text_or_liquid, "request_headers": any_json},
                ),
                "content_card": st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(["CLASSIC", "BANNER"]),
                        "title": text_or_liquid,
                        "description": text_or_liquid,
                    },
                    optional={"time_to_live": any_json, "expire_at": any_json},
                ),
                "apple_push": st.fixed_dictionaries(
                    {"alert": text_or_liquid | any_json},
                    optional={"extra": any_json, "badge": any_json},
                ),
            },
        ),
    }
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=near_valid)
def test_near_valid_sends_never_answer_5xx(api, body):
    from messaging.models import Profile

    Profile.objects.get_or_create(external_id="fuzz-user", defaults={"email": "f@example.test"})
    response = api.post("/messages/send", json.dumps(body))
    assert response.status_code in (201, 400, 413), (body, response.content[:300])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.fixed_dictionaries(
        {}, optional={"campaign_id": st.text(max_size=40) | any_json, "send_id": any_json}
    )
    | any_json
)
def test_send_id_create_never_answers_5xx(api, body):
    response = api.post("/sends/id/create", json.dumps(body))
    assert response.status_code < 500, (body, response.content[:300])
