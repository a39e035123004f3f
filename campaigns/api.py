"""REST endpoints of campaigns: export of the campaigns marketers configured (spec §3.5, §3.6).

`/campaigns/details` needs nothing from analytics or messaging: the first and last send
times are kept on the Campaign row itself (messaging writes them when a dispatch starts).
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any, Literal

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from config.api import ApiError, api_response, endpoint
from config.api.times import ApiTime, iso_utc
from config.api.validation import NoNul

from .models import PUSH_CHANNELS, Campaign, ConversionEvent, MessageVariation
from .selectors import campaign_by_public_id, campaign_export_page

PAGE_SIZE = 100
MAX_PAGE = 1_000_000
INVALID_CAMPAIGN = "campaign_id must be a string of the campaign api identifier"


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CampaignListQuery(_Query):
    page: int = Field(0, ge=0, le=MAX_PAGE)
    include_archived: bool = False
    sort_direction: Literal["asc", "desc"] = "asc"
    last_edit_time_gt: ApiTime | None = Field(None, alias="last_edit.time[gt]")


class CampaignDetailsQuery(_Query):
    campaign_id: NoNul
    post_launch_draft_version: bool = False


class CampaignSummary(BaseModel):
    id: str
    name: str
    is_api_campaign: bool
    tags: list[str]
    last_edited: str


class CampaignListResponse(BaseModel):
    message: str
    campaigns: list[CampaignSummary]


def exported_campaign(campaign_id: str) -> Campaign:
    """The campaign an export request names, or Braze's 400 for the export endpoints."""
    campaign = campaign_by_public_id(campaign_id)
    if campaign is not None:
        return campaign
    try:
        uuid.UUID(campaign_id)
    except ValueError:
        raise ApiError(400, INVALID_CAMPAIGN, ["campaign_id: not a campaign identifier"]) from None
    raise ApiError(400, INVALID_CAMPAIGN, ["campaign_id: no such campaign"])


@endpoint("/campaigns/list", method="GET", permission="campaigns.list",
          summary="List campaigns, 100 per page", query=CampaignListQuery,
          response=CampaignListResponse, tags=("Export",))
def campaign_list(request: HttpRequest, query: CampaignListQuery) -> JsonResponse:
    """Campaigns oldest first (or newest with `sort_direction=desc`), archived ones on request."""
    since = query.last_edit_time_gt
    if since is not None and timezone.is_naive(since):
        since = since.replace(tzinfo=UTC)
    page = campaign_export_page(
        page=query.page, size=PAGE_SIZE, include_archived=query.include_archived,
        edited_after=since, descending=query.sort_direction == "desc",
    )
    return api_response({"campaigns": [
        {"id": str(c.api_id), "name": c.name, "is_api_campaign": True,
         "tags": tags, "last_edited": iso_utc(c.updated_at)}
        for c, tags in page
    ]})


def _message_details(variation: MessageVariation) -> dict[str, Any]:
    # API campaigns carry their copy in each request, so the stored content is empty
    # (spec §3.6); the keys are still there for clients that read them.
    channel = variation.export_channel
    base: dict[str, Any] = {"channel": channel, "name": variation.name}
    if variation.channel == "email":
        base.update(subject="", body="", **{"from": ""}, reply_to="", title="", amp_body=None,
                    preheader="", custom_plain_text="", should_inline_css=True,
                    should_whitespace_header=False, email_headers=[], extras=[])
    elif variation.channel in PUSH_CHANNELS:
        base.update(alert="", title="", extras={}, action=None, image_url=None,
                    large_image_url=None)
    elif variation.channel == "webhook":
        base.update(url="", body="", type="", headers={}, method="POST")
    elif variation.channel == "sms":
        base.update(body="", **{"from": []}, subscription_group_id=None)
    return base


def _conversion_behavior(event: ConversionEvent) -> dict[str, Any]:
    behavior: dict[str, Any] = {"type": event.kind, "window": int(event.window.total_seconds())}
    if event.kind == ConversionEvent.Kind.PERFORMS_CUSTOM_EVENT:
        behavior["custom_event_name"] = event.custom_event_name
    elif event.kind == ConversionEvent.Kind.MAKES_SPECIFIC_PURCHASE:
        behavior["product"] = event.product_id
    elif event.kind in (ConversionEvent.Kind.STARTS_SESSION, ConversionEvent.Kind.UPGRADES_APP):
        behavior["app_ids"] = None
    return behavior


@endpoint("/campaigns/details", method="GET", permission="campaigns.details",
          summary="One campaign: status, channels, messages, conversion events",
          query=CampaignDetailsQuery, tags=("Export",))
def campaign_details(request: HttpRequest, query: CampaignDetailsQuery) -> JsonResponse:
    """Everything the dashboard knows about one campaign, keyed as Braze keys it."""
    campaign = exported_campaign(query.campaign_id)
    variations = list(campaign.variations.all())
    channels: list[str] = []
    for variation in variations:
        if variation.export_channel not in channels:
            channels.append(variation.export_channel)
    first_sent, last_sent = campaign.first_sent_at, campaign.last_sent_at
    return api_response({
        "created_at": iso_utc(campaign.created_at),
        "updated_at": iso_utc(campaign.updated_at),
        "archived": campaign.status == Campaign.Status.ARCHIVED,
        "draft": campaign.status == Campaign.Status.DRAFT,
        "enabled": campaign.status == Campaign.Status.ACTIVE,
        "has_post_launch_draft": False,
        "name": campaign.name,
        "description": campaign.description,
        "schedule_type": "api_campaign",
        "channels": channels,
        "first_sent": iso_utc(first_sent, hour=True),
        "last_sent": iso_utc(last_sent, hour=True),
        "tags": [t.name for t in campaign.tags.all()],
        "teams": [],
        "messages": {str(v.api_id): _message_details(v) for v in variations},
        "conversion_behaviors": [_conversion_behavior(e)
                                 for e in campaign.conversion_events.all()],
    })
