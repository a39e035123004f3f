"""Braze-flavoured Liquid (spec §6): attributes, custom attributes, default, tags, errors."""

from __future__ import annotations

import pytest
from liquid.exceptions import LiquidError

from messaging.liquid import (
    AbortMessage,
    LiquidTemplateError,
    compile_fields,
    render_fields,
)

CONTEXT = {
    "standard_attribute": {
        "first_name": "Ada",
        "last_name": "",
        "email_address": "ada@example.test",
        "user_id": "cust-1",
        "city": "   ",
    },
    "custom_attribute": {
        "favourite colour": "teal",
        "address": {"city": "Paris"},
        "balance": 12,
        "vip": False,
        "tags": ["a", "b"],
    },
    "campaign": {"dispatch_id": "d" * 32, "name": "Spring"},
}


def render(source: str, context=CONTEXT) -> str:
    rendered, _ = render_fields(compile_fields(source, field_path="f"), context)
    return rendered


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hi {{${first_name}}}!", "Hi Ada!"),
        ("{{${email_address}}} / {{${user_id}}}", "ada@example.test / cust-1"),
        ("{{ ${first_name} | upcase }}", "ADA"),
        ("{{custom_attribute.${favourite colour}}}", "teal"),
        ("{{custom_attribute.${address.city}}}", "Paris"),
        ("{{campaign.${dispatch_id}}}", "d" * 32),
        ("{{campaign.${name}}}", "Spring"),
        ("[{{${no_such_attribute}}}]", "[]"),
        ("[{{custom_attribute.${missing}}}]", "[]"),
        ("{% if ${first_name} != blank %}yes{% else %}no{% endif %}", "yes"),
        ("{% if {{custom_attribute.${balance}}} > 10 %}rich{% endif %}", "rich"),
        ("{% for t in {{custom_attribute.${tags}}} %}{{t}}{% endfor %}", "ab"),
        ("{% assign n = ${first_name} %}{{ n | downcase }}", "ada"),
    ],
)
def test_attribute_lookups(source, expected):
    assert render(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{${last_name} | default: 'there'}}", "there"),  # empty
        ("{{${nickname} | default: 'there'}}", "there"),  # missing (nil)
        ("{{custom_attribute.${vip} | default: 'no'}}", "no"),  # false
        ("[{{${city} | default: 'x'}}]", "[   ]"),  # whitespace is not empty (spec §6)
        ("{{${first_name} | default: 'there'}}", "Ada"),
        ("{{custom_attribute.${balance} | default: 0}}", "12"),
    ],
)
def test_default_filter_semantics(source, expected):
    assert render(source) == expected


def test_compiles_once_and_renders_per_profile():
    compiled = compile_fields(
        {"subject": "Hi {{${first_name}}}", "n": 3, "plain": "no markup"},
        field_path="messages.email",
    )
    one, _ = render_fields(compiled, {"standard_attribute": {"first_name": "Ada"}})
    two, _ = render_fields(compiled, {"standard_attribute": {"first_name": "Grace"}})
    assert one == {"subject": "Hi Ada", "n": 3, "plain": "no markup"}
    assert two["subject"] == "Hi Grace"


def test_abort_message_skips_the_recipient_with_its_reason():
    source = "{% if ${first_name} == blank %}{% abort_message('no name') %}{% endif %}Hi"
    assert render(source) == "Hi"
    with pytest.raises(AbortMessage) as aborted:
        # Every standard attribute is in the context, empty when the profile has none.
        render(source, {"standard_attribute": {"first_name": ""}})
    assert aborted.value.reason == "no name"
    with pytest.raises(AbortMessage):
        render("{% abort_message() %}")


def test_message_extras_first_key_wins_trimmed_and_capped():
    source = (
        "{% message_extras :key order :value {{custom_attribute.${balance}}} %}"
        "{% message_extras :key order :value second %}"
        "{% message_extras :key big :value " + "x" * 2000 + " %}body"
    )
    rendered, extras = render_fields(compile_fields(source, field_path="f"), CONTEXT)
    assert rendered == "body"
    assert extras["order"] == "12"
    assert (
        len(extras["order"].encode()) + len(b"order") + len(extras["big"].encode()) + len(b"big")
        == 1024
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% if ${first_name} %}never closed",
        "{{ ${first_name} | no_such_filter }}",
        "{% endfor %}",
        "{{ 'unterminated }}",
    ],
)
def test_parse_errors_name_the_field(source):
    with pytest.raises(LiquidTemplateError) as error:
        compile_fields({"body": ["ok", source]}, field_path="messages.email")
    assert str(error.value).startswith("messages.email.body[1]: Liquid syntax error")


def test_json_escape_for_webhook_bodies():
    source = '{"name": "{{custom_attribute.${quote} | json_escape}}"}'
    assert (
        render(source, {"custom_attribute": {"quote": 'say "hi"\n'}})
        == '{"name": "say \\"hi\\"\\n"}'
    )


def test_runaway_loops_are_bounded():
    with pytest.raises(LiquidError):
        render("{% for i in (1..60000) %}{% for j in (1..60000) %}x{% endfor %}{% endfor %}")


BRANCH = "{% if custom_attribute.${x} OP blank %}Y{% else %}N{% endif %}"


@pytest.mark.parametrize(
    ("attributes", "blank", "empty", "nil", "default"),
    [
        ({}, "Y", "Y", "Y", "d"),  # missing: blank, empty and nil
        ({"x": None}, "Y", "Y", "Y", "d"),  # stored null
        ({"x": ""}, "Y", "Y", "N", "d"),
        ({"x": []}, "Y", "Y", "N", "d"),
        ({"x": "   "}, "Y", "N", "N", "   "),  # whitespace is blank, not empty
        ({"x": "a"}, "N", "N", "N", "a"),
        ({"x": 0}, "N", "N", "N", "0"),  # 0 is neither, and not replaced by default
        ({"x": False}, "N", "N", "N", "d"),
    ],
)
def test_blank_and_empty_on_missing_custom_attributes(attributes, blank, empty, nil, default):
    context = {"custom_attribute": attributes}
    assert render(BRANCH.replace("OP", "=="), context) == blank
    assert render(BRANCH.replace("OP", "!="), context) == ("N" if blank == "Y" else "Y")
    assert render(BRANCH.replace("OP blank", "== empty"), context) == empty
    assert render(BRANCH.replace("OP blank", "== nil"), context) == nil
    # `blank` on the left, inside a compound condition, nested in a loop and an unless.
    nested = (
        "{% for i in (1..1) %}{% unless blank == custom_attribute.${x} and true %}N"
        "{% else %}Y{% endunless %}{% endfor %}"
    )
    assert render(nested, context) == blank
    elsif = "{% if false %}-{% elsif custom_attribute.${x} == blank %}Y{% else %}N{% endif %}"
    assert render(elsif, context) == blank
    assert render("{{custom_attribute.${x} | default: 'd'}}", context) == default


def test_missing_attribute_is_still_falsy_and_not_equal_to_values():
    context = {"custom_attribute": {}}
    assert render("{% if custom_attribute.${x} %}Y{% else %}N{% endif %}", context) == "N"
    assert render("{% if custom_attribute.${x} == '' %}Y{% else %}N{% endif %}", context) == "N"
    assert render("{% if custom_attribute.${x} == 0 %}Y{% else %}N{% endif %}", context) == "N"
