"""Dashboard pages of campaigns: list, type choice, configuration, campaign page, actions."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as notices
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from accounts.access import permission_required
from config.dashboard import filter_value

from . import selectors, services
from .forms import (
    CONVERSION_PREFIX,
    FORM_TOKEN_FIELD,
    MAX_MESSAGES,
    MESSAGE_PREFIX,
    TOKEN_TTL,
    CampaignForm,
    ConversionFormSet,
    MessageFormSet,
    campaign_initial,
    editor_rows,
    form_token_claim_key,
    form_token_is_known,
    form_token_issue,
    form_token_record,
    form_token_used_for,
    new_conversion_row,
    next_variant_name,
)
from .models import MAX_CONVERSION_EVENTS, Campaign, Channel, ConversionEvent
from .send_example import send_request_curl

PAGE_SIZE = 20


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


def _get_campaign(request: HttpRequest, campaign_id: uuid.UUID) -> Campaign:
    """The campaign with this public ID, or 404. Every signed-in marketer sees every campaign."""
    campaign = selectors.campaign_get(api_id=campaign_id)
    if campaign is None:
        raise Http404("No such campaign.")
    return campaign


# --- List ---------------------------------------------------------------------------------


@permission_required("campaigns.view_campaign")
def campaign_list(request: HtmxRequest) -> HttpResponse:
    filters = {
        "q": filter_value(request, "q", label="search"),
        "status": request.GET.get("status", ""),  # only a known status filters
        "tag": filter_value(request, "tag", label="tag filter"),
        "sort": request.GET.get("sort", selectors.DEFAULT_SORT),
    }
    if filters["sort"] not in selectors.SORTS:
        filters["sort"] = selectors.DEFAULT_SORT
    campaigns = selectors.campaign_list(
        search=filters["q"], status=filters["status"], tag=filters["tag"], sort=filters["sort"]
    )
    page_obj = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(campaign, selectors.campaign_channels(campaign)) for campaign in page_obj]
    # Pagination links keep the filters; empty ones are left out for tidy URLs.
    filter_query = urlencode(
        {
            k: v
            for k, v in filters.items()
            if v and not (k == "sort" and v == selectors.DEFAULT_SORT)
        }
    )
    context = {
        "nav": "messaging",
        "page_obj": page_obj,
        "rows": rows,
        "filters": filters,
        "filtered": bool(filters["q"] or filters["status"] or filters["tag"]),
        "filter_query": filter_query,
        "statuses": Campaign.Status.choices,
        "sorts": [
            ("-updated", "Last edited, newest first"),
            ("updated", "Last edited, oldest first"),
            ("name", "Name"),
        ],
        "tags": selectors.tag_list(),
    }
    template = "campaigns/campaign_list.html"
    # A history restore (back button after a cache miss) swaps the whole body: give it the page.
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    if fragment:
        template += "#campaign-results"
    response = render(request, template, context)
    # Same URL, two answers: keep browser caches from serving the fragment as the page.
    patch_vary_headers(response, ["HX-Request"])
    return response


@permission_required("campaigns.add_campaign")
def campaign_type_choice(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/campaign_type.html", {"nav": "messaging"})


# --- Configuration page (create and edit) ----------------------------------------------

MESSAGE_FIELDS = ["channel", "name", "variation"]
CONVERSION_FIELDS = ["kind", "product_id", "custom_event_name", "deadline_value", "deadline_unit"]


def _editor_context(
    *,
    campaign: Campaign | None,
    form: CampaignForm,
    message_formset: Any,
    conversion_formset: Any,
    locked: set[uuid.UUID],
    focus: str = "",
    form_token: str = "",
    kind: str = Campaign.Kind.API,
) -> dict[str, Any]:
    return {
        "kind": campaign.kind if campaign is not None else kind,
        "form_token": form_token,
        "nav": "messaging",
        "campaign": campaign,
        "form": form,
        "message_formset": message_formset,
        "conversion_formset": conversion_formset,
        "channels": Channel.choices,
        "conversion_kinds": ConversionEvent.Kind,
        "max_conversions": MAX_CONVERSION_EVENTS,
        "max_messages": MAX_MESSAGES,
        "locked": {str(api_id) for api_id in locked},
        "focus": focus,
    }


def _rerender_editor(
    request: HtmxRequest, campaign: Campaign | None, locked: set[uuid.UUID],
    kind: str = Campaign.Kind.API,
) -> HttpResponse | None:
    """Handle an add/remove button: rebuild the forms from the posted values, save nothing.

    Returns None when the post was a save. Without JavaScript the whole page comes back; with
    htmx only the section that changed.
    """
    post = request.POST
    messages = editor_rows(post, MESSAGE_PREFIX, MESSAGE_FIELDS, MAX_MESSAGES)
    conversions = editor_rows(post, CONVERSION_PREFIX, CONVERSION_FIELDS, MAX_CONVERSION_EVENTS + 4)
    section, focus = "", ""
    if "add_message" in post:
        channel = post.get("new_channel") or post.get("add_message")
        if channel in Channel.values and len(messages) < MAX_MESSAGES:
            messages.append(
                {"channel": channel, "name": next_variant_name(messages, channel), "variation": ""}
            )
            focus = f"{MESSAGE_PREFIX}-{len(messages) - 1}-name"
        section = "messages-section"
    elif "remove_message" in post:
        index = _index(post.get("remove_message"), len(messages))
        if index is not None and _uuid(messages[index]["variation"]) not in locked:
            del messages[index]
        section = "messages-section"
    elif "add_conversion" in post:
        if len(conversions) < MAX_CONVERSION_EVENTS:
            conversions.append(new_conversion_row())
            focus = f"{CONVERSION_PREFIX}-{len(conversions) - 1}-kind"
        section = "conversions-section"
    elif "remove_conversion" in post:
        index = _index(post.get("remove_conversion"), len(conversions))
        if index is not None:
            del conversions[index]
        section = "conversions-section"
    else:
        return None

    context = _editor_context(
        campaign=campaign,
        form=CampaignForm(initial={k: post.get(k, "") for k in ("name", "description", "tags")}),
        message_formset=MessageFormSet(prefix=MESSAGE_PREFIX, initial=messages),
        conversion_formset=ConversionFormSet(prefix=CONVERSION_PREFIX, initial=conversions),
        locked=locked,
        focus=focus,
        # Adding a row without JavaScript re-renders the page: it stays the same form.
        form_token=post.get(FORM_TOKEN_FIELD, "") if campaign is None else "",
        kind=kind,
    )
    template = "campaigns/campaign_form.html"
    if request.htmx:
        template += f"#{section}"
    return render(request, template, context)


def _index(value: str | None, length: int) -> int | None:
    try:
        index = int(value or "")
    except ValueError:
        return None
    return index if 0 <= index < length else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _campaign_editor(
    request: HtmxRequest, campaign: Campaign | None, kind: str = Campaign.Kind.API
) -> HttpResponse:
    locked = selectors.variation_ids_with_sends(campaign=campaign) if campaign else set()
    token = ""
    if request.method == "POST":
        rerendered = _rerender_editor(request, campaign, locked, kind)
        if rerendered is not None:
            return rerendered
        token = request.POST.get(FORM_TOKEN_FIELD, "") if campaign is None else ""
        if not form_token_is_known(request.session, token):
            token = ""  # no token (or not issued here): a plain create, as before
        if token and (
            form_token_used_for(request.session, token)
            or cache.get(form_token_claim_key(request.session, token)) is not None
        ):
            return _already_created(request, token)
        form = CampaignForm(request.POST)
        message_formset = MessageFormSet(request.POST, prefix=MESSAGE_PREFIX)
        conversion_formset = ConversionFormSet(request.POST, prefix=CONVERSION_PREFIX)
        valid = all([form.is_valid(), message_formset.is_valid(), conversion_formset.is_valid()])
        if valid:
            if token:
                saved = _create_once(
                    request, token, form, message_formset, conversion_formset, kind=kind
                )
                if isinstance(saved, HttpResponse):
                    return saved
            else:
                saved = _save(
                    request, campaign, form, message_formset, conversion_formset, kind=kind
                )
            if saved is not None:
                notices.success(request, "Campaign saved." if campaign else "Campaign created.")
                url = saved.get_absolute_url()
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    else:
        if campaign is None:
            form = CampaignForm()
            messages, conversions = [], []
            token = form_token_issue(request.session)
        else:
            initial, messages, conversions = campaign_initial(campaign)
            form = CampaignForm(initial=initial)
        message_formset = MessageFormSet(prefix=MESSAGE_PREFIX, initial=messages)
        conversion_formset = ConversionFormSet(prefix=CONVERSION_PREFIX, initial=conversions)
    context = _editor_context(
        campaign=campaign,
        form=form,
        message_formset=message_formset,
        conversion_formset=conversion_formset,
        locked=locked,
        form_token=token,
        kind=kind,
    )
    # Errors answer 200 too: htmx 2 does not swap 4xx bodies by default (STYLE.md §4).
    return render(request, "campaigns/campaign_form.html", context)


def _save(
    request: HttpRequest, campaign: Campaign | None, form, message_formset, conversion_formset,
    kind: str = Campaign.Kind.API,
) -> Campaign | None:
    """Save through the services; a rule broken at save time becomes a form error, not a 500."""
    fields = {
        "name": form.cleaned_data["name"],
        "description": form.cleaned_data["description"],
        "tags": form.cleaned_data["tags"],
        "messages": message_formset.specs(),
        "conversions": conversion_formset.specs(),
        "by": request.user,
    }
    try:
        if campaign is None:
            return services.campaign_create(**fields, kind=kind)
        return services.campaign_update(campaign=campaign, **fields)
    except ValidationError as error:
        # NOTE: the formsets were validated already; a rule only the database state can decide
        # (a message with sends, a foreign variation ID) is shown with the messages' errors.
        message_formset._non_form_errors = message_formset.error_class(error.messages)
        return None


def _create_once(
    request: HtmxRequest, token: str, form, message_formset, conversion_formset,
    kind: str = Campaign.Kind.API,
) -> Campaign | HttpResponse | None:
    """Create the campaign unless another post of the same form got there first."""
    key = form_token_claim_key(request.session, token)
    # cache.add is the atomic step: of two posts racing, exactly one gets the claim.
    if not cache.add(key, "", TOKEN_TTL):
        return _already_created(request, token)
    saved = _save(request, None, form, message_formset, conversion_formset, kind=kind)
    if saved is None:
        cache.delete(key)  # nothing was saved: the corrected form may be sent again
        return None
    cache.set(key, str(saved.api_id), TOKEN_TTL)
    form_token_record(request.session, token, str(saved.api_id))
    return saved


def _already_created(request: HtmxRequest, token: str, wait: float = 10.0) -> HttpResponse:
    """Send a repeated post to the campaign the first post created (waiting for it if needed)."""
    key = form_token_claim_key(request.session, token)
    api_id = form_token_used_for(request.session, token) or cache.get(key)
    deadline = time.monotonic() + wait
    while not api_id and cache.get(key) is not None and time.monotonic() < deadline:
        time.sleep(0.1)  # the first post is still saving
        api_id = cache.get(key)
    campaign = selectors.campaign_by_public_id(api_id)
    if campaign is not None:
        notices.info(
            request,
            "This form had already been submitted, so no second campaign was created: "
            "here is the one it created.",
        )
        url = campaign.get_absolute_url()
    else:
        notices.info(request, "This form had already been submitted; see the campaign list.")
        url = reverse("campaigns:list")
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@permission_required("campaigns.add_campaign")
@require_http_methods(["GET", "POST"])
def campaign_create(request: HtmxRequest) -> HttpResponse:
    return _campaign_editor(request, None)


@permission_required("campaigns.add_campaign")
@require_http_methods(["GET", "POST"])
def campaign_create_triggered(request: HtmxRequest) -> HttpResponse:
    """Messaging › Create campaign › API-triggered campaign: the same page, another kind."""
    return _campaign_editor(request, None, kind=Campaign.Kind.API_TRIGGERED)


@permission_required("campaigns.change_campaign")
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HtmxRequest, campaign_id: uuid.UUID) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    if campaign.is_archived:
        # Archived campaigns are frozen for reporting; unarchiving is the explicit way back.
        notices.error(request, "This campaign is archived: unarchive it to edit it.")
        url = campaign.get_absolute_url()
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _campaign_editor(request, campaign)


# --- Campaign page and actions --------------------------------------------------------------


@permission_required("campaigns.view_campaign")
def campaign_detail(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponse:
    campaign = _get_campaign(request, campaign_id)
    variations = list(campaign.variations.all())
    context = {
        "nav": "messaging",
        "campaign": campaign,
        "variations": variations,
        "conversions": list(campaign.conversion_events.all()),
        "tags": list(campaign.tags.all()),
        "curl": send_request_curl(campaign, request.build_absolute_uri("/")),
    }
    return render(request, "campaigns/campaign_detail.html", context)


@permission_required("campaigns.change_campaign")
@require_POST
def campaign_archive(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponse:
    campaign = services.campaign_archive(
        campaign=_get_campaign(request, campaign_id), by=request.user
    )
    notices.success(request, "Campaign archived. Its IDs keep working for reporting.")
    return redirect(campaign.get_absolute_url())


@permission_required("campaigns.change_campaign")
@require_POST
def campaign_unarchive(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponse:
    campaign = services.campaign_unarchive(
        campaign=_get_campaign(request, campaign_id), by=request.user
    )
    notices.success(request, "Campaign restored.")
    return redirect(campaign.get_absolute_url())


@permission_required("campaigns.add_campaign")
@require_POST
def campaign_duplicate(request: HttpRequest, campaign_id: uuid.UUID) -> HttpResponse:
    copy = services.campaign_duplicate(
        campaign=_get_campaign(request, campaign_id), by=request.user
    )
    notices.success(request, "Campaign duplicated with new IDs.")
    return redirect(copy.get_absolute_url())
