"""REST endpoints of analytics: campaign statistics and segments (spec §3.7, §3.8, §3b.9)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, Field

from campaigns.api import MAX_PAGE, PAGE_SIZE, exported_campaign
from config.api import ApiError, api_response, endpoint
from config.api.times import iso_utc
from config.api.validation import NoNul

from . import selectors
from .api_query import INVALID_SEGMENT, _DayOrTime, _end_day, _Query


class DataSeriesQuery(_Query):
    campaign_id: NoNul
    length: int = Field(ge=1, le=100)
    ending_at: _DayOrTime | None = None


class SendDataSeriesQuery(DataSeriesQuery):
    send_id: str = Field(min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")


class SegmentListQuery(_Query):
    page: int = Field(0, ge=0, le=MAX_PAGE)
    sort_direction: Literal["asc", "desc"] = "asc"


class SegmentDetailsQuery(_Query):
    segment_id: NoNul


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


@endpoint("/campaigns/data_series", method="GET", permission="campaigns.data_series",
          rate_limit="campaigns.data_series", summary="Daily statistics of a campaign",
          query=DataSeriesQuery, response=DataSeriesResponse, tags=("Export",))
def campaign_data_series(request: HttpRequest, query: DataSeriesQuery) -> JsonResponse:
    """One element per day, oldest first, with per-channel, per-variation metrics."""
    campaign = exported_campaign(query.campaign_id)
    data = selectors.data_series(campaign=campaign, end=_end_day(query.ending_at),
                                 length=query.length)
    return api_response({"data": data})


@endpoint("/sends/data_series", method="GET", permission="sends.data_series",
          summary="Daily statistics of one send_id of a campaign", query=SendDataSeriesQuery,
          response=DataSeriesResponse, tags=("Export",))
def send_data_series(request: HttpRequest, query: SendDataSeriesQuery) -> JsonResponse:
    """The same shape as /campaigns/data_series, restricted to one `send_id`."""
    campaign = exported_campaign(query.campaign_id)
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
        "created_at": iso_utc(segment.created_at), "updated_at": iso_utc(segment.updated_at),
        "name": segment.name, "description": segment.description,
        "text_description": f"{segment.size} profiles, {segment.get_source_display().lower()}",
        "tags": [], "teams": [],
    })

