from datetime import timedelta

import pytest

from campaigns.forms import (
    CampaignForm,
    ConversionFormSet,
    deadline_initial,
    editor_rows,
    next_variant_name,
)


def test_tags_are_trimmed_deduplicated_case_insensitively():
    form = CampaignForm({"name": " Order  ", "tags": " orders, Orders ,, transactional  flows ,"})
    assert form.is_valid()
    assert form.cleaned_data["name"] == "Order"
    assert form.cleaned_data["tags"] == ["orders", "transactional flows"]


def test_too_many_or_too_long_tags_are_refused():
    assert (
        "tags" in CampaignForm({"name": "x", "tags": ",".join(f"t{i}" for i in range(21))}).errors
    )
    assert "tags" in CampaignForm({"name": "x", "tags": "a" * 65}).errors


def test_next_variant_name_counts_per_channel_and_skips_taken_names():
    rows = [
        {"channel": "email", "name": "Variant 1"},
        {"channel": "sms", "name": "Variant 1"},
        {"channel": "email", "name": "Variant 3"},
    ]
    assert next_variant_name(rows, "email") == "Variant 4"
    assert next_variant_name(rows, "sms") == "Variant 2"
    assert next_variant_name(rows, "webhook") == "Variant 1"


@pytest.mark.parametrize(
    ("window", "initial"),
    [
        (timedelta(days=3), {"deadline_value": 3, "deadline_unit": "days"}),
        (timedelta(hours=30), {"deadline_value": 30, "deadline_unit": "hours"}),
    ],
)
def test_deadline_initial_prefers_whole_days(window, initial):
    assert deadline_initial(window) == initial


@pytest.mark.parametrize(
    ("value", "unit", "ok"),
    [
        ("1", "hours", True),
        ("720", "hours", True),
        ("30", "days", True),
        ("0", "hours", False),
        ("721", "hours", False),
        ("31", "days", False),
        ("-2", "days", False),
        ("abc", "days", False),
        ("3", "weeks", False),
    ],
)
def test_deadline_bounds(value, unit, ok):
    data = {
        "conv-TOTAL_FORMS": "1",
        "conv-INITIAL_FORMS": "0",
        "conv-0-kind": "Starts Session",
        "conv-0-deadline_value": value,
        "conv-0-deadline_unit": unit,
    }
    formset = ConversionFormSet(data, prefix="conv")
    assert formset.is_valid() is ok


def test_irrelevant_detail_fields_are_dropped():
    data = {
        "conv-TOTAL_FORMS": "1",
        "conv-INITIAL_FORMS": "0",
        "conv-0-kind": "Makes Any Purchase",
        "conv-0-product_id": "sku",
        "conv-0-custom_event_name": "evt",
        "conv-0-deadline_value": "2",
        "conv-0-deadline_unit": "days",
    }
    formset = ConversionFormSet(data, prefix="conv")
    assert formset.is_valid()
    spec = formset.specs()[0]
    assert (spec.product_id, spec.custom_event_name, spec.window) == ("", "", timedelta(days=2))


def test_editor_rows_caps_a_forged_total():
    rows = editor_rows({"msg-TOTAL_FORMS": "100000", "msg-0-name": "a"}, "msg", ["name"], limit=40)
    assert len(rows) == 40 and rows[0] == {"name": "a"}
    assert editor_rows({"msg-TOTAL_FORMS": "x"}, "msg", ["name"], limit=40) == []
