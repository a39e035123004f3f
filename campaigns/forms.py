"""Forms of the campaign configuration page: the campaign itself, its messages, its conversions.

The page edits three things at once. Messages and conversion events are Django formsets so the
page works as a plain form post; the add/remove buttons re-render them from the posted values
(see `editor_rows`) without validating, so a half-filled page never shows premature errors.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import (
    DEFAULT_CONVERSION_WINDOW,
    MAX_CONVERSION_EVENTS,
    MAX_CONVERSION_WINDOW,
    MIN_CONVERSION_WINDOW,
    Campaign,
    Channel,
    ConversionEvent,
)
from .services import ConversionSpec, MessageSpec

MESSAGE_PREFIX = "msg"
CONVERSION_PREFIX = "conv"
# Far above any real campaign (8 channels × a few A/B variants), low enough to bound the work
# a hand-made post can cause.
MAX_MESSAGES = 40
MAX_TAGS = 20
TAG_MAX_LENGTH = 64


class CampaignForm(forms.Form):
    name = forms.CharField(
        label="Title",
        max_length=200,
        error_messages={"required": "Give the campaign a title so its results can be found later."},
        help_text="A descriptive title, e.g. “Order shipped — transactional”.",
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        max_length=1000,
        help_text="Separate tags with commas.",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the campaign a title so its results can be found later.")
        return name

    def clean_tags(self) -> list[str]:
        seen: dict[str, str] = {}
        for raw in self.cleaned_data["tags"].split(","):
            tag = " ".join(raw.split())
            if not tag:
                continue
            if len(tag) > TAG_MAX_LENGTH:
                raise ValidationError(f"A tag can have at most {TAG_MAX_LENGTH} characters.")
            seen.setdefault(tag.lower(), tag)
        if len(seen) > MAX_TAGS:
            raise ValidationError(f"A campaign can have at most {MAX_TAGS} tags.")
        return list(seen.values())


class MessageForm(forms.Form):
    channel = forms.ChoiceField(
        choices=Channel.choices,
        error_messages={"invalid_choice": "“%(value)s” is not a channel Herald can send on."},
    )
    name = forms.CharField(
        label="Variant name",
        max_length=100,
        error_messages={"required": "Name this variant."},
    )
    # The public ID of an already minted variation; empty for a message added on this page.
    variation = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Name this variant.")
        return name

    # Read by the template, which shows the channel as text (it is chosen once, when added).
    def channel_label(self) -> str:
        value = self["channel"].value()
        return dict(Channel.choices).get(value, f"Unknown channel “{value}”")

    def variation_id(self) -> str:
        return str(self["variation"].value() or "")


class BaseMessageFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": f"A campaign can have at most {MAX_MESSAGES} messages."
    }

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[tuple[str, str]] = set()
        for form in self.forms:
            key = (form.cleaned_data["channel"], form.cleaned_data["name"].lower())
            if key in seen:
                form.add_error("name", "Another variant of this channel already has this name.")
            seen.add(key)

    def specs(self) -> list[MessageSpec]:
        return [
            MessageSpec(
                channel=form.cleaned_data["channel"],
                name=form.cleaned_data["name"],
                variation_id=form.cleaned_data.get("variation"),
            )
            for form in self.forms
        ]


MessageFormSet = forms.formset_factory(
    MessageForm,
    formset=BaseMessageFormSet,
    extra=0,
    max_num=MAX_MESSAGES,
    validate_max=True,
    absolute_max=MAX_MESSAGES,
)


class DeadlineUnit:
    HOURS = "hours"
    DAYS = "days"
    CHOICES = [(HOURS, "hours"), (DAYS, "days")]


class ConversionForm(forms.Form):
    kind = forms.ChoiceField(
        label="Conversion event",
        choices=ConversionEvent.Kind.choices,
        error_messages={"invalid_choice": "Choose one of the listed conversion events."},
    )
    product_id = forms.CharField(label="Product", required=False, max_length=255)
    custom_event_name = forms.CharField(label="Custom event name", required=False, max_length=255)
    deadline_value = forms.IntegerField(
        label="Conversion deadline",
        min_value=1,
        error_messages={
            "required": "Enter a conversion deadline.",
            "invalid": "Enter the deadline as a whole number.",
            "min_value": "The conversion deadline must be between 1 hour and 30 days.",
        },
    )
    deadline_unit = forms.ChoiceField(label="Unit", choices=DeadlineUnit.CHOICES)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind == ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT:
            if not data.get("custom_event_name", "").strip():
                self.add_error("custom_event_name", "Name the custom event to track.")
        else:
            data["custom_event_name"] = ""
        if kind == ConversionEvent.Kind.MAKES_SPECIFIC_PURCHASE:
            if not data.get("product_id", "").strip():
                self.add_error("product_id", "Name the product, or choose “any product”.")
        else:
            data["product_id"] = ""
        value, unit = data.get("deadline_value"), data.get("deadline_unit")
        if value is not None and unit:
            # Cap before building the timedelta: a huge number must be an error, not an overflow.
            window = (
                timedelta(days=min(value, 10_000))
                if unit == DeadlineUnit.DAYS
                else timedelta(hours=min(value, 240_000))
            )
            if not MIN_CONVERSION_WINDOW <= window <= MAX_CONVERSION_WINDOW:
                self.add_error(
                    "deadline_value", "The conversion deadline must be between 1 hour and 30 days."
                )
            else:
                data["window"] = window
        return data

    @property
    def letter(self) -> str:
        """A, B, C, D: the dashboard's label of the event at this position (A is primary)."""
        index = int(self.prefix.rsplit("-", 1)[-1])
        return "ABCDEFGHIJKL"[index] if index < 12 else "?"

    def spec(self) -> ConversionSpec:
        data = self.cleaned_data
        return ConversionSpec(
            kind=data["kind"],
            window=data["window"],
            product_id=data["product_id"].strip(),
            custom_event_name=data["custom_event_name"].strip(),
        )


class BaseConversionFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": f"A campaign can have at most {MAX_CONVERSION_EVENTS} conversion events."
    }

    def specs(self) -> list[ConversionSpec]:
        return [form.spec() for form in self.forms]


ConversionFormSet = forms.formset_factory(
    ConversionForm,
    formset=BaseConversionFormSet,
    extra=0,
    max_num=MAX_CONVERSION_EVENTS,
    validate_max=True,
    # Accept a few more rows than allowed so a fifth event gets a clear error, not a silent drop.
    absolute_max=MAX_CONVERSION_EVENTS + 4,
)


def deadline_initial(window: timedelta) -> dict[str, Any]:
    """Show a window as whole days when it is one, otherwise in hours."""
    if window % timedelta(days=1) == timedelta(0):
        return {"deadline_value": window.days, "deadline_unit": DeadlineUnit.DAYS}
    return {
        "deadline_value": int(window.total_seconds() // 3600),
        "deadline_unit": DeadlineUnit.HOURS,
    }


def new_conversion_row() -> dict[str, Any]:
    return {
        "kind": ConversionEvent.Kind.STARTS_SESSION,
        **deadline_initial(DEFAULT_CONVERSION_WINDOW),
    }


def next_variant_name(rows: list[dict[str, Any]], channel: str) -> str:
    """`Variant N` for the next message of `channel`, skipping names already taken."""
    taken = {
        str(row.get("name", "")).strip().lower() for row in rows if row.get("channel") == channel
    }
    number = sum(1 for row in rows if row.get("channel") == channel) + 1
    while f"variant {number}" in taken:
        number += 1
    return f"Variant {number}"


def campaign_initial(campaign: Campaign) -> tuple[dict, list[dict], list[dict]]:
    """Initial values of the three forms for editing a saved campaign."""
    campaign_data = {
        "name": campaign.name,
        "description": campaign.description,
        "tags": ", ".join(tag.name for tag in campaign.tags.all()),
    }
    messages = [
        {"channel": v.channel, "name": v.name, "variation": v.api_id}
        for v in campaign.variations.all()
    ]
    conversions = [
        {
            "kind": event.kind,
            "product_id": event.product_id,
            "custom_event_name": event.custom_event_name,
            **deadline_initial(event.window),
        }
        for event in campaign.conversion_events.all()
    ]
    return campaign_data, messages, conversions


def editor_rows(data: Any, prefix: str, fields: list[str], limit: int) -> list[dict[str, str]]:
    """The raw rows of a posted formset, read without validation (for add/remove re-renders)."""
    try:
        total = int(data.get(f"{prefix}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        total = 0
    total = max(0, min(total, limit))
    return [
        {field: data.get(f"{prefix}-{index}-{field}", "") for field in fields}
        for index in range(total)
    ]


# --- One-time token of the create form -------------------------------------------------------
# Without JavaScript (data-submit-once), a double click posts the create form twice. The page
# carries a random token, remembered in the session; the first successful save claims it with
# cache.add (atomic in Redis, and under LocMemCache's lock in one process), so a second post
# with the same token finds the campaign the first one created instead of creating another.

FORM_TOKEN_FIELD = "form_token"
_SESSION_TOKENS = "campaign_create_tokens"
_KEEP_TOKENS = 20  # open "new campaign" tabs remembered per session
TOKEN_TTL = 24 * 3600


def form_token_issue(session: Any) -> str:
    """A fresh token for a newly rendered create form, remembered in the session."""
    token = secrets.token_urlsafe(18)
    tokens = dict(session.get(_SESSION_TOKENS, {}))
    tokens[token] = ""
    session[_SESSION_TOKENS] = dict(list(tokens.items())[-_KEEP_TOKENS:])
    return token


def form_token_is_known(session: Any, token: str) -> bool:
    return bool(token) and token in session.get(_SESSION_TOKENS, {})


def form_token_claim_key(session: Any, token: str) -> str:
    return f"herald:campaign-create:{session.session_key}:{token}"


def form_token_used_for(session: Any, token: str) -> str:
    """The api_id of the campaign this token already created, else ""."""
    return session.get(_SESSION_TOKENS, {}).get(token, "")


def form_token_record(session: Any, token: str, api_id: str) -> None:
    tokens = dict(session.get(_SESSION_TOKENS, {}))
    tokens[token] = api_id
    session[_SESSION_TOKENS] = tokens
