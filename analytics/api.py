"""REST endpoints of analytics: campaign export and statistics, segments (spec §3.5–3.8, §3b.9)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from campaigns.models import Campaign, ConversionEvent, MessageVariation
from config.api import ApiError, api_response, endpoint

from . import selectors

PAGE_SIZE = 100
INVALID_CAMPAIGN = "campaign_id must be a string of the campaign api identifier"
INVALID_SEGMENT = "segment_id must be a string of the segment api identifier"


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# PostgreSQL refuses NUL characters in text: refuse them here, as a 400, not there.
NoNul = Annotated[str, Field(pattern=r"^[^\x00]*$")]
MAX_PAGE = 1_000_000


class CampaignListQuery(_Query):
    page: int = Field(0, ge=0, le=MAX_PAGE)
    include_archived: bool = False
    sort_direction: Literal["asc", "desc"] = "asc"
    last_edit_time_gt: datetime | None = Field(None, alias="last_edit.time[gt]")


class CampaignDetailsQuery(_Query):
    campaign_id: NoNul
    post_launch_draft_version: bool = False


class DataSeriesQuery(_Query):
    campaign_id: NoNul
    length: int = Field(ge=1, le=100)
    ending_at: datetime | date | None = None


class SendDataSeriesQuery(DataSeriesQuery):
    send_id: str = Field(min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")


class SegmentListQuery(_Query):
    page: int = Field(0, ge=0, le=MAX_PAGE)
    sort_direction: Literal["asc", "desc"] = "asc"


class SegmentDetailsQuery(_Query):
    segment_id: NoNul


class CampaignSummary(BaseModel):
    id: str
    name: str
    is_api_campaign: bool
    tags: list[str]
    last_edited: str


class CampaignListResponse(BaseModel):
    message: str
    campaigns: list[CampaignSummary]


class DataSeriesResponse(BaseModel):
    message: str
    data: list[dict[str, Any]]


class SegmentSummary(BaseModel):
    id: str
    name: str
    analytics_tracking_enabled: bool
    tags: list[str]


class SegmentListResponse(BaseModel):
    message: str
    segments: list[SegmentSummary]


def _iso(moment: datetime | None, *, hour: bool = False) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if hour:  # first_sent / last_sent have hour precision (spec §3.6)
        moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(microsecond=0).isoformat()


def _campaign(campaign_id: str) -> Campaign:
    try:
        api_id = uuid.UUID(campaign_id)
    except ValueError:
        raise ApiError(400, INVALID_CAMPAIGN, ["campaign_id: not a campaign identifier"]) from None
    campaign = Campaign.objects.filter(api_id=api_id).first()
    if campaign is None:
        raise ApiError(400, INVALID_CAMPAIGN, ["campaign_id: no such campaign"])
    return campaign


@endpoint("/campaigns/list", method="GET", permission="campaigns.list",
          summary="List campaigns, 100 per page", query=CampaignListQuery,
          response=CampaignListResponse, tags=("Export",))
def campaign_list(request: HttpRequest, query: CampaignListQuery) -> JsonResponse:
    """Campaigns oldest first (or newest with `sort_direction=desc`), archived ones on request."""
    campaigns = Campaign.objects.prefetch_related("tags")
    if not query.include_archived:
        campaigns = campaigns.exclude(status=Campaign.Status.ARCHIVED)
    if query.last_edit_time_gt is not None:
        since = query.last_edit_time_gt
        if timezone.is_naive(since):
            since = since.replace(tzinfo=UTC)
        campaigns = campaigns.filter(updated_at__gt=since)
    order = ("created_at", "id") if query.sort_direction == "asc" else ("-created_at", "-id")
    page = campaigns.order_by(*order)[query.page * PAGE_SIZE:(query.page + 1) * PAGE_SIZE]
    return api_response({"campaigns": [
        {"id": str(c.api_id), "name": c.name, "is_api_campaign": True,
         "tags": [t.name for t in c.tags.all()], "last_edited": _iso(c.updated_at)}
        for c in page
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
    elif variation.channel in selectors.PUSH_CHANNELS:
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
    campaign = _campaign(query.campaign_id)
    variations = list(campaign.variations.all())
    channels: list[str] = []
    for variation in variations:
        if variation.export_channel not in channels:
            channels.append(variation.export_channel)
    first_sent, last_sent = campaign.first_sent_at, campaign.last_sent_at
    return api_response({
        "created_at": _iso(campaign.created_at),
        "updated_at": _iso(campaign.updated_at),
        "archived": campaign.status == Campaign.Status.ARCHIVED,
        "draft": campaign.status == Campaign.Status.DRAFT,
        "enabled": campaign.status == Campaign.Status.ACTIVE,
        "has_post_launch_draft": False,
        "name": campaign.name,
        "description": campaign.description,
        "schedule_type": "api_campaign",
        "channels": channels,
        "first_sent": _iso(first_sent, hour=True),
        "last_sent": _iso(last_sent, hour=True),
        "tags": [t.name for t in campaign.tags.all()],
        "teams": [],
        "messages": {str(v.api_id): _message_details(v) for v in variations},
        "conversion_behaviors": [_conversion_behavior(e)
                                 for e in campaign.conversion_events.all()],
    })


def _end_day(ending_at: datetime | date | None) -> date:
    if ending_at is None:
        return timezone.now().astimezone(UTC).date()
    if isinstance(ending_at, datetime):
        if timezone.is_naive(ending_at):
            ending_at = ending_at.replace(tzinfo=UTC)
        ending_at = ending_at.astimezone(UTC).date()
    if ending_at.year < 1900:  # also keeps `ending_at - length` away from date.min
        raise ApiError(400, "ending_at: must be after 1900", ["ending_at: out of range"])
    return ending_at


@endpoint("/campaigns/data_series", method="GET", permission="campaigns.data_series",
          rate_limit="campaigns.data_series", summary="Daily statistics of a campaign",
          query=DataSeriesQuery, response=DataSeriesResponse, tags=("Export",))
def campaign_data_series(request: HttpRequest, query: DataSeriesQuery) -> JsonResponse:
    """One element per day, oldest first, with per-channel, per-variation metrics."""
    campaign = _campaign(query.campaign_id)
    data = selectors.data_series(campaign=campaign, end=_end_day(query.ending_at),
                                 length=query.length)
    return api_response({"data": data})


@endpoint("/sends/data_series", method="GET", permission="sends.data_series",
          summary="Daily statistics of one send_id of a campaign", query=SendDataSeriesQuery,
          response=DataSeriesResponse, tags=("Export",))
def send_data_series(request: HttpRequest, query: SendDataSeriesQuery) -> JsonResponse:
    """The same shape as /campaigns/data_series, restricted to one `send_id`."""
    campaign = _campaign(query.campaign_id)
    data = selectors.data_series(campaign=campaign, end=_end_day(query.ending_at),
                                 length=query.length, send_id=query.send_id)
    return api_response({"data": data})


@endpoint("/segments/list", method="GET", permission="segments.list",
          summary="List segments, 100 per page", query=SegmentListQuery,
          response=SegmentListResponse, tags=("Export",))
def segment_list(request: HttpRequest, query: SegmentListQuery) -> JsonResponse:
    """Segments oldest first (or newest with `sort_direction=desc`)."""
    order = ("created_at", "id") if query.sort_direction == "asc" else ("-created_at", "-id")
    page = selectors.segment_list().order_by(*order)[
        query.page * PAGE_SIZE:(query.page + 1) * PAGE_SIZE]
    return api_response({"segments": [
        {"id": s.segment_id, "name": s.name, "analytics_tracking_enabled": False, "tags": []}
        for s in page
    ]})


@endpoint("/segments/details", method="GET", permission="segments.details",
          summary="One segment", query=SegmentDetailsQuery, tags=("Export",))
def segment_details(request: HttpRequest, query: SegmentDetailsQuery) -> JsonResponse:
    """Name, descriptions and dates of one segment."""
    segment = selectors.segment_get(segment_id=query.segment_id)
    if segment is None:
        raise ApiError(400, INVALID_SEGMENT, ["segment_id: no such segment"])
    return api_response({
        "created_at": _iso(segment.created_at), "updated_at": _iso(segment.updated_at),
        "name": segment.name, "description": segment.description,
        "text_description": f"{segment.size} profiles, {segment.get_source_display().lower()}",
        "tags": [], "teams": [],
    })

