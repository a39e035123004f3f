"""An API-triggered campaign's Content page: write each variant, preview it, send a test.

The campaign and its variants are the campaigns app's; their content is a message object
of /messages/send, so it is checked and rendered here, where the message models and the
Liquid engine live (messaging.services.triggers).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from accounts.access import permission_required
from campaigns.models import Campaign, Channel, MessageVariation
from campaigns.selectors import campaign_by_public_id
from config.api import DomainError

from .. import liquid
from ..delivery.recipients import profile_context
from ..models import Dispatch, Profile
from ..services import triggers
from ..services.dispatch import SendPlan, dispatch_create

# (content key, label, multi-line): the fields a marketer writes per channel; a dotted key
# is nested (`alert.title`). Fixed values every message of the channel carries: DEFAULTS.
CONTENT_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    Channel.EMAIL: [("app_id", "App ID", False), ("from", "From", False),
                    ("reply_to", "Reply-to", False), ("subject", "Subject", False),
                    ("preheader", "Preheader", False), ("body", "Body (HTML)", True)],
    Channel.SMS: [("app_id", "App ID", False),
                  ("subscription_group_id", "SMS subscription group ID", False),
                  ("body", "Text", True)],
    Channel.WEBHOOK: [("url", "URL", False), ("request_method", "Method", False),
                      ("body", "Body", True)],
    Channel.APPLE_PUSH: [("alert.title", "Title", False), ("alert.body", "Text", True)],
    Channel.ANDROID_PUSH: [("title", "Title", False), ("alert", "Text", True)],
    Channel.KINDLE_PUSH: [("title", "Title", False), ("alert", "Text", True)],
    Channel.WEB_PUSH: [("title", "Title", False), ("alert", "Text", True)],
    Channel.CONTENT_CARD: [("title", "Title", False), ("description", "Description", True),
                           ("time_to_live", "Shown for (seconds)", False)],
}
DEFAULTS: dict[str, dict[str, Any]] = {
    Channel.WEBHOOK: {"request_method": "POST"},
    Channel.CONTENT_CARD: {"type": "CLASSIC", "time_to_live": 604800},
}
INTEGER_FIELDS = {"time_to_live"}
PREVIEW_PROFILES = 50


def _get(content: dict[str, Any], key: str) -> Any:
    value: Any = content
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _content_from_post(variation: MessageVariation, post) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    content: dict[str, Any] = {**DEFAULTS.get(variation.channel, {})}
    for key, _, _ in CONTENT_FIELDS[variation.channel]:
        raw = post.get(f"v-{variation.api_id}-{key}", "")
        if raw.strip() == "":
            content.pop(key, None)
            continue
        value: Any = raw.strip() if "\n" not in raw else raw
        if key in INTEGER_FIELDS:
            try:
                value = int(raw)
            except ValueError:
                value = raw  # the message model names the field and says why
        if "." in key:
            outer, inner = key.split(".", 1)
            content.setdefault(outer, {})[inner] = value
        else:
            content[key] = value
    return content


def _get_campaign(request: HttpRequest, campaign_id: str) -> Campaign:
    campaign = campaign_by_public_id(campaign_id)
    if campaign is None or not campaign.is_api_triggered:
        raise Http404("No such API-triggered campaign")
    return campaign


def _rows(campaign: Campaign, *, posted: dict | None = None, errors: dict | None = None):  # type: ignore[no-untyped-def]
    rows = []
    for variation in campaign.variations.all():
        content = (posted or {}).get(variation.pk, variation.content or {})
        fields = [
            {"key": key, "label": label, "multiline": multiline,
             "name": f"v-{variation.api_id}-{key}",
             "value": "" if _get(content, key) is None else _get(content, key)}
            for key, label, multiline in CONTENT_FIELDS[variation.channel]
        ]
        rows.append({"variation": variation, "fields": fields,
                     "errors": (errors or {}).get(variation.pk, []),
                     "written": bool(variation.content)})
    return rows


def _preview(campaign: Campaign, profile: Profile, properties: dict[str, Any]) -> list[dict]:
    """Each written variant rendered for `profile` as a send would render it."""
    dispatch = Dispatch(campaign=campaign, dispatch_id="preview",
                        audience={"trigger_properties": properties})
    shown = []
    for variation in campaign.variations.all():
        if not variation.content:
            continue
        entry: dict[str, Any] = {"variation": variation}
        try:
            compiled = liquid.compile_fields(variation.content,
                                             field_path=f"messages.{variation.channel}")
            rendered, _ = liquid.render_fields(
                compiled, profile_context(profile, dispatch=dispatch, variation=variation)
            )
            entry["fields"] = [
                (label, _get(rendered, key)) for key, label, _ in CONTENT_FIELDS[variation.channel]
                if _get(rendered, key) not in (None, "")
            ]
        except liquid.AbortMessage as abort:
            entry["error"] = f"Not sent to this profile: abort_message({abort.reason})"
        except (liquid.LiquidTemplateError, ValueError, TypeError) as exc:
            entry["error"] = f"Could not render: {exc}"
        shown.append(entry)
    return shown


def _properties(raw: str) -> tuple[dict[str, Any], str]:
    if not raw.strip():
        return {}, ""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return {}, f"Trigger properties are not JSON: {exc}"
    if not isinstance(value, dict):
        return {}, "Trigger properties must be a JSON object, e.g. {\"order_number\": \"A-1\"}"
    return value, ""


def _send_test(request: HttpRequest, campaign: Campaign, profile: Profile,
               properties: dict[str, Any], variation: MessageVariation) -> HttpResponse:
    """One variant to one profile, now, whatever its subscriptions and control group."""
    if not variation.content:
        messages.error(request, "Write this message before sending a test of it.")
        return redirect("messaging:trigger-content", campaign_id=campaign.api_id)
    plan = SendPlan(
        messages={variation.channel: {**variation.content,
                                      "message_variation_id": variation.message_variation_id}},
        audience={"broadcast": False, "external_user_ids": [profile.external_id],
                  "user_aliases": [], "segment_id": None, "filter": None,
                  "trigger_properties": properties},
        recipient_subscription_state="all",
        campaign=campaign,
        send_id="test",
    )
    dispatch, _ = dispatch_create(api_key=None, plan=plan)
    messages.success(request, f"Test of {variation} sent to {profile}: see what went out below.")
    return redirect("messaging:dispatch-detail", dispatch_id=dispatch.dispatch_id)


@permission_required("campaigns.view_campaign", write="campaigns.change_messagevariation")
@require_http_methods(["GET", "POST"])
def trigger_content(request: HttpRequest, campaign_id: str) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    post = request.POST
    posted: dict[int, dict] = {}
    errors: dict[int, list[str]] = {}
    preview = None
    chosen = None
    external_id = (post.get("profile") or request.GET.get("profile") or "").strip()
    raw_properties = post.get("trigger_properties", "")
    action = post.get("action", "")
    if request.method == "POST" and action == "save":
        if campaign.is_archived:
            messages.error(request, "This campaign is archived: unarchive it to edit it.")
            return redirect("messaging:trigger-content", campaign_id=campaign.api_id)
        variations = list(campaign.variations.all())
        for variation in variations:
            posted[variation.pk] = _content_from_post(variation, post)
            try:
                triggers.variation_content_check(channel=variation.channel,
                                                 content=posted[variation.pk])
            except DomainError as exc:
                errors[variation.pk] = exc.errors
        if not errors:
            for variation in variations:
                triggers.variation_content_save(variation=variation,
                                                content=posted[variation.pk], by=request.user)
            messages.success(request, "Content saved.")
            return redirect("messaging:trigger-content", campaign_id=campaign.api_id)
    elif request.method == "POST" and action in ("preview", "send_test"):
        properties, problem = _properties(raw_properties)
        chosen = Profile.objects.filter(external_id=external_id).first() if external_id else None
        if problem:
            messages.error(request, problem)
        elif chosen is None:
            messages.error(request, f"No profile has the external ID {external_id!r}.")
        elif action == "preview":
            preview = _preview(campaign, chosen, properties)
        else:
            variation = campaign.variations.filter(api_id=post.get("variation") or None).first()
            if variation is None:
                messages.error(request, "Choose the message to test.")
            else:
                return _send_test(request, campaign, chosen, properties, variation)
    context = {
        "campaign": campaign,
        "rows": _rows(campaign, posted=posted, errors=errors),
        "profiles": Profile.objects.exclude(external_id=None)
        .order_by("-updated_at").values_list("external_id", flat=True)[:PREVIEW_PROFILES],
        "profile": external_id,
        "chosen": chosen,
        "trigger_properties": raw_properties,
        "preview": preview,
        "nav": "messaging",
        "detail_url": reverse("campaigns:detail", args=[campaign.api_id]),
    }
    return render(request, "messaging/trigger_content.html", context)


urlpatterns = [
    path("messaging/campaigns/<uuid:campaign_id>/content/", trigger_content,
         name="trigger-content"),
]
