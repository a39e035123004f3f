"""Hostile templates and patterns fail their own deliveries, quickly and in little memory.

Issue 12: `{{ (1..20000000) | join: "," | size }}` took a worker from 285 MiB to 1.7 GiB, and
`^(a+)+$` against a 24-character attribute took seconds. Each case here is rendered (or
matched) for one recipient: it must end within the per-recipient deadline (a generous
bound: the deadline plus half a second) with the render's peak allocation under 64 MiB,
and a normal send right after must still arrive.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from django.core import mail
from django.urls import reverse
from liquid.exceptions import LiquidError

from messaging.audience import MAX_REGEX_LENGTH, audience_matches, audience_normalize
from messaging.liquid import (
    RENDER_DEADLINE_SECONDS,
    LiquidTemplateError,
    compile_fields,
    render_fields,
)
from messaging.models import Delivery, Profile

pytestmark = pytest.mark.django_db

BOUND_SECONDS = RENDER_DEADLINE_SECONDS + 0.5
PEAK_BYTES = 64 * 1024 * 1024
EMAIL = {"app_id": "a", "from": "orders@acme.test", "subject": "Hi", "body": "<p>Hi</p>"}

BIG = "y" * 400_000  # a profile attribute (literals that long are refused when sent)

# Sizes come from variables so the request is accepted; only the render can refuse them.
HOSTILE = {
    "range through join": '{% assign n = 20000000 %}{{ (1..n) | join: "," | size }}',
    "range through sum": "{% assign n = 20000000 %}{{ (1..n) | sum }}",
    "range through map": '{% assign n = 20000000 %}{{ (1..n) | map: "x" | size }}',
    "range through sort, reverse, uniq":
        "{% assign n = 20000000 %}{{ (1..n) | sort | reverse | uniq | size }}",
    "range in output": "{% assign n = 20000000 %}{{ (1..n) }}",
    "range in a loop": "{% assign n = 20000000 %}{% for i in (1..n) %}x{% endfor %}",
    "join with a long separator": '{{ (1..60000) | join: "' + "s" * 100 + '" | size }}',
    "split into characters": '{{ (1..60000) | join: "" | split: "" | size }}',
    "replace every match": '{{ (1..60000) | join: "," | replace: ",", "' + "r" * 40 + '" }}',
    "append": '{{ (1..60000) | join: "," | append: custom_attribute.big'
              " | append: custom_attribute.big | size }}",
    "prepend": '{{ (1..60000) | join: "," | prepend: custom_attribute.big'
               " | prepend: custom_attribute.big | size }}",
    "times in a loop": "{% assign n = 7 %}{% for i in (1..9999) %}{% assign n = n | times: n %}"
                       "{% endfor %}{{ n | size }}",
    "capture": "{% capture a %}{% for i in (1..9999) %}" + "c" * 200
               + "{% endfor %}{% endcapture %}{{ a | size }}",
    "nested loops": "{% for i in (1..10000) %}{% for j in (1..10000) %}x{% endfor %}{% endfor %}",
    "many sequential loops":
        "{% assign r = (1..9999) %}" + "{% for i in r %}{% endfor %}" * 4000,
    "deep nesting of loops": "{% for i in (1..2) %}" * 20 + "x" + "{% endfor %}" * 20,
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_fails_within_the_deadline_and_in_little_memory(source):
    compiled = compile_fields({"body": source}, field_path="messages.webhook")
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(LiquidError):
            render_fields(compiled, {"custom_attribute": {"big": BIG}})
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < BOUND_SECONDS
    assert peak < PEAK_BYTES


def test_what_fits_the_limits_still_renders():
    compiled = compile_fields(
        {"body": '{{ (1..1000) | join: "," | split: "," | size }} {{ "a" | append: "b" }}'},
        field_path="messages.webhook",
    )
    assert render_fields(compiled, {})[0] == {"body": "1000 ab"}


def test_every_field_of_a_message_counts_towards_its_total_output():
    field = "{% for i in (1..9000) %}" + "t" * 100 + "{% endfor %}"  # 900,000 characters
    compiled = compile_fields({"a": field, "b": field, "c": field}, field_path="m")
    with pytest.raises(LiquidError, match="over a limit: message over 2 MiB"):
        render_fields(compiled, {})


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ('{{ (1..20000000) | join: "," | size }}', "range (1..20000000) of 20,000,000 items"),
        ("{% for i in (1..10000000) %}x{% endfor %}", "range (1..10000000) of 10,000,000 items"),
        ("{% if true %}" * 4000 + "{% endif %}" * 4000, "nest"),
        ("{% for i in (1..3) %}" * 60 + "x" + "{% endfor %}" * 60, "nest"),
        ("{{ x }}" * 10_001, "10,001 tags and outputs (max 10,000)"),
        ("{{ " + "(" * 2000 + " }}", "2,000 parentheses"),
        ("{{ x " + "{{" * 1000, "'{{' without a closing '}}'"),
        ('{{ "' + "y" * 250_000 + '" }}', "a tag or output of 250,008 characters (max 10,000)"),
    ],
)
def test_a_limit_known_from_the_template_alone_refuses_it_naming_the_field(source, detail):
    with pytest.raises(LiquidTemplateError) as error:
        compile_fields({"body": source}, field_path="messages.webhook")
    assert error.value.field == "messages.webhook.body"
    assert detail in str(error.value)


def test_the_api_answers_400_for_a_literal_huge_range(api, make_profile):
    make_profile(external_id="ada")
    response = api.post("/messages/send", {
        "external_user_ids": ["ada"],
        "messages": {"email": {**EMAIL, "body": '{{ (1..10000000) | join: "," }}'}},
    })
    assert response.status_code == 400
    assert response.json()["message"] == "Bad Request"
    assert response.json()["errors"][0].startswith(
        "messages.email.body: Liquid template over a limit: range (1..10000000)"
    )


def test_a_hostile_send_fails_its_delivery_with_the_reason_and_the_next_send_arrives(
    send, make_profile, admin_member_client, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_profile(external_id="ada", email="ada@example.test")
    hostile = send({
        "external_user_ids": ["ada"],
        "messages": {"email": {**EMAIL, "body": HOSTILE["range through join"]}},
    })
    delivery = Delivery.objects.get(dispatch=hostile)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error.startswith("Liquid rendering failed: over a limit: range of 20,000,000")
    page = admin_member_client.get(
        reverse("messaging:dispatch-detail", args=[hostile.dispatch_id])
    ).content.decode()
    assert "over a limit: range of 20,000,000" in page
    assert mail.outbox == []

    normal = send({
        "external_user_ids": ["ada"],
        "messages": {"email": {**EMAIL, "body": "<p>Hi {{${first_name}}}</p>"}},
    })
    assert Delivery.objects.get(dispatch=normal).status == Delivery.Status.DELIVERED
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.test"]


# --- Regular expressions -------------------------------------------------------------------


def _regex_leaf(pattern: str, comparison: str = "matches_regex") -> dict:
    return {"custom_attribute": {
        "custom_attribute_name": "code", "comparison": comparison, "value": pattern,
    }}


@pytest.mark.parametrize("length", [24, 40, 10_000])
def test_a_catastrophic_pattern_matches_in_linear_time(make_profile, length):
    profile = make_profile(custom_attributes={"code": "a" * length + "!"})
    checked = audience_normalize(_regex_leaf("^(a+)+$"))
    started = time.monotonic()
    assert audience_matches(checked, profile) is False
    assert time.monotonic() - started < BOUND_SECONDS


def test_a_catastrophic_pattern_in_a_send_reaches_only_who_matches(send, make_profile, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_profile(external_id="evil", custom_attributes={"code": "a" * 40 + "!"})
    make_profile(external_id="good", email="good@example.test", custom_attributes={"code": "aaa"})
    started = time.monotonic()
    dispatch = send({
        "broadcast": True, "audience": _regex_leaf("^(a+)+$"), "messages": {"email": EMAIL},
    })
    assert time.monotonic() - started < BOUND_SECONDS * Profile.objects.count()
    sent = Delivery.objects.filter(dispatch=dispatch, status="delivered")
    assert [row.profile.external_id for row in sent] == ["good"]


@pytest.mark.parametrize(
    ("pattern", "detail"),
    [
        (r"(a)\1", "invalid regular expression: invalid escape sequence: \\1"),
        ("(?=a)b", "invalid regular expression: invalid perl operator: (?="),
        ("(?<!a)b", "invalid regular expression: invalid perl operator: (?<"),
        ("(", "invalid regular expression: missing ): ("),
        ("a" * (MAX_REGEX_LENGTH + 1), f"at most {MAX_REGEX_LENGTH} characters"),
    ],
)
def test_a_pattern_re2_cannot_run_is_a_400_naming_the_path(api, make_profile, pattern, detail):
    make_profile()
    response = api.post("/messages/send", {
        "broadcast": True, "audience": _regex_leaf(pattern), "messages": {"email": EMAIL},
    })
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0].startswith("audience.custom_attribute.value: ")
    assert detail in errors[0]
