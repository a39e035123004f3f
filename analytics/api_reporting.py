"""REST endpoints of analytics: what users did (Braze's KPI, event, purchase, session and
segment series), all read from the daily rollups (analytics.reporting).

Herald keeps daily figures only: `unit=hour` is refused, and so is `segment_id` on the
series Braze lets a segment filter (Herald counts these for all users), each with a 400
saying so, rather than answering figures that are not what was asked.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, Field

from config.api import ApiError, api_response, endpoint
from config.api.validation import NoNul

from . import reporting, selectors
from .api_query import INVALID_SEGMENT, _DayOrTime, _end_day, _Query
from .models import ActivityRollup

Kind = ActivityRollup.Kind
LIST_PAGE_SIZE = 250  # names per page of /events/list and /purchases/product_list
EVENTS_PAGE_SIZE = 50  # events per page of GET /events (Braze's cursor pages)
NO_SEGMENT_FILTER = "segment_id: Herald keeps these figures for all users, not per segment"


class SeriesQuery(_Query):
    length: int = Field(ge=1, le=100, description="days, ending with ending_at")
    ending_at: _DayOrTime | None = None


class AppSeriesQuery(SeriesQuery):
    app_id: NoNul | None = Field(None, max_length=64)


class UnitSeriesQuery(AppSeriesQuery):
    unit: Literal["day"] = Field("day", description="Herald keeps daily figures only")
    segment_id: NoNul | None = Field(
        None, description="refused: Herald counts these for all users, not per segment")


class EventSeriesQuery(UnitSeriesQuery):
    event: NoNul = Field(min_length=1, max_length=255)


class PurchaseSeriesQuery(UnitSeriesQuery):
    product: NoNul | None = Field(None, min_length=1, max_length=255,
                                  description="one product; absent: all products")


class SegmentSeriesQuery(SeriesQuery):
    segment_id: NoNul


class PageQuery(_Query):
    page: int = Field(0, ge=0, le=10_000)


class CursorQuery(_Query):
    cursor: NoNul | None = Field(None, max_length=200)


class SeriesResponse(BaseModel):
    message: str
    data: list[dict[str, Any]] = Field(description='[{"time": "YYYY-MM-DD", <figure>: n}]')


class EventListResponse(BaseModel):
    message: str
    events: list[str]


class ProductListResponse(BaseModel):
    message: str
    products: list[str]


class EventDetails(BaseModel):
    name: str
    description: str | None
    included_in_analytics_report: bool
    status: str
    tag_names: list[str]


class EventsResponse(BaseModel):
    message: str
    events: list[EventDetails]


def _no_segment(query: UnitSeriesQuery) -> None:
    if query.segment_id:
        raise ApiError(400, NO_SEGMENT_FILTER, [NO_SEGMENT_FILTER])


_SEGMENT_ANSWER = {400: ("segment_id is given, or names no segment",
                         {"message": NO_SEGMENT_FILTER, "errors": [NO_SEGMENT_FILTER]})}


def _rename(series: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{"time": row["time"], key: row["users"]} for row in series]


# --- KPIs -------------------------------------------------------------------------------


@endpoint("/kpi/dau/data_series", method="GET", permission="kpi.dau.data_series",
          summary="Daily active users per day", query=AppSeriesQuery, response=SeriesResponse,
          tags=("Export",))
def kpi_dau(request: HttpRequest, query: AppSeriesQuery) -> JsonResponse:
    """Distinct users with a session, a custom event or a purchase that day (`dau`).

    `app_id` is accepted and ignored: activity is counted across apps.
    """
    series = reporting.active_users_series(end=_end_day(query.ending_at), length=query.length)
    return api_response({"data": _rename(series, "dau")})


@endpoint("/kpi/mau/data_series", method="GET", permission="kpi.mau.data_series",
          summary="Monthly active users per day (rolling 30 days)", query=AppSeriesQuery,
          response=SeriesResponse, tags=("Export",))
def kpi_mau(request: HttpRequest, query: AppSeriesQuery) -> JsonResponse:
    """Distinct users active in the 30 days ending that day (`mau`); `app_id` as for DAU."""
    series = reporting.active_users_series(end=_end_day(query.ending_at), length=query.length,
                                           window=reporting.MAU_WINDOW)
    return api_response({"data": _rename(series, "mau")})


# --- sessions, events, purchases ------------------------------------------------------------


@endpoint("/sessions/data_series", method="GET", permission="sessions.data_series",
          summary="App sessions per day", query=UnitSeriesQuery, response=SeriesResponse,
          tags=("Export",), answers=_SEGMENT_ANSWER)
def sessions_series(request: HttpRequest, query: UnitSeriesQuery) -> JsonResponse:
    """Sessions reported (/users/track `date_of_last_session`, /engagement/track
    `session`) per day, of one app with `app_id`."""
    _no_segment(query)
    return api_response({"data": reporting.activity_series(
        kind=Kind.SESSION, end=_end_day(query.ending_at), length=query.length,
        app_id=query.app_id, key="sessions")})


@endpoint("/events/list", method="GET", permission="events.list",
          summary="Custom event names, 250 per page", query=PageQuery,
          response=EventListResponse, tags=("Export",))
def events_list(request: HttpRequest, query: PageQuery) -> JsonResponse:
    """The names of the custom events recorded, alphabetical; `page` starts at 0."""
    return api_response({"events": reporting.activity_names(
        kind=Kind.EVENT, offset=query.page * LIST_PAGE_SIZE, limit=LIST_PAGE_SIZE)})


def _skip_of(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        label, _, number = text.partition(":")
        skip = int(number)
        if label != "skip" or skip < 0 or skip > 10**7:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "Invalid cursor", ["cursor: use the Link header's"]) from None
    return skip


def _cursor(skip: int) -> str:
    return base64.b64encode(f"skip:{skip}".encode()).decode()


@endpoint("/events", method="GET", permission="events.get",
          summary="Custom events with their details, 50 per page", query=CursorQuery,
          response=EventsResponse, tags=("Export",),
          answers={400: ("the cursor is not one Herald gave",
                         {"message": "Invalid cursor", "errors": ["cursor: use the Link "
                                                                  "header's"]})})
def events_details(request: HttpRequest, query: CursorQuery) -> JsonResponse:
    """Each custom event recorded, alphabetical. Pages follow the `Link` header's
    `rel="next"` URL (a `cursor`), as Braze's do."""
    skip = _skip_of(query.cursor)
    names = reporting.activity_names(kind=Kind.EVENT, offset=skip, limit=EVENTS_PAGE_SIZE + 1)
    response = api_response({"events": [
        {"name": name, "description": None, "included_in_analytics_report": False,
         "status": "Active", "tag_names": []} for name in names[:EVENTS_PAGE_SIZE]]})
    # Braze's own form: a relative URL, the cursor base64 as it is ("c2tpcDo1MA==").
    links = []
    if skip:
        links.append(f'</events?cursor={_cursor(max(0, skip - EVENTS_PAGE_SIZE))}>; rel="prev"')
    if len(names) > EVENTS_PAGE_SIZE:
        links.append(f'</events?cursor={_cursor(skip + EVENTS_PAGE_SIZE)}>; rel="next"')
    if links:
        response["Link"] = ",".join(links)
    return response


@endpoint("/events/data_series", method="GET", permission="events.data_series",
          summary="Occurrences of a custom event per day", query=EventSeriesQuery,
          response=SeriesResponse, tags=("Export",), answers=_SEGMENT_ANSWER)
def events_series(request: HttpRequest, query: EventSeriesQuery) -> JsonResponse:
    """How many times `event` was recorded each day (`count`), of one app with `app_id`."""
    _no_segment(query)
    return api_response({"data": reporting.activity_series(
        kind=Kind.EVENT, end=_end_day(query.ending_at), length=query.length, name=query.event,
        app_id=query.app_id)})


@endpoint("/purchases/product_list", method="GET", permission="purchases.product_list",
          summary="Product IDs purchased, 250 per page", query=PageQuery,
          response=ProductListResponse, tags=("Export",))
def purchases_products(request: HttpRequest, query: PageQuery) -> JsonResponse:
    """The product IDs of the purchases recorded, alphabetical; `page` starts at 0."""
    return api_response({"products": reporting.activity_names(
        kind=Kind.PURCHASE, offset=query.page * LIST_PAGE_SIZE, limit=LIST_PAGE_SIZE)})


@endpoint("/purchases/quantity_series", method="GET", permission="purchases.quantity_series",
          summary="Items purchased per day", query=PurchaseSeriesQuery, response=SeriesResponse,
          tags=("Export",), answers=_SEGMENT_ANSWER)
def purchases_quantity(request: HttpRequest, query: PurchaseSeriesQuery) -> JsonResponse:
    """Items bought each day (`purchase_quantity`), of one `product` and one `app_id`."""
    _no_segment(query)
    return api_response({"data": reporting.activity_series(
        kind=Kind.PURCHASE, end=_end_day(query.ending_at), length=query.length,
        name=query.product, app_id=query.app_id, counter="quantity",
        key="purchase_quantity")})


@endpoint("/purchases/revenue_series", method="GET", permission="purchases.revenue_series",
          summary="Revenue per day", query=PurchaseSeriesQuery, response=SeriesResponse,
          tags=("Export",), answers=_SEGMENT_ANSWER)
def purchases_revenue(request: HttpRequest, query: PurchaseSeriesQuery) -> JsonResponse:
    """Money spent each day (`revenue`: price × quantity, summed across currencies as
    Braze's series does without conversion), of one `product` and one `app_id`."""
    _no_segment(query)
    return api_response({"data": reporting.activity_series(
        kind=Kind.PURCHASE, end=_end_day(query.ending_at), length=query.length,
        name=query.product, app_id=query.app_id, counter="revenue", key="revenue")})


# --- segments ----------------------------------------------------------------------------------


@endpoint("/segments/data_series", method="GET", permission="segments.data_series",
          summary="Size of a segment per day", query=SegmentSeriesQuery,
          response=SeriesResponse, tags=("Export",),
          answers={400: ("no segment has this segment_id",
                         {"message": INVALID_SEGMENT, "errors": ["segment_id: no such segment"]})})
def segments_series(request: HttpRequest, query: SegmentSeriesQuery) -> JsonResponse:
    """The segment's size each day (`size`): Herald's segments are lists fixed when made,
    so it is their size from the day they were made, and 0 before."""
    segment = selectors.segment_get(segment_id=query.segment_id)
    if segment is None:
        raise ApiError(400, INVALID_SEGMENT, ["segment_id: no such segment"])
    return api_response({"data": reporting.segment_size_series(
        segment=segment, end=_end_day(query.ending_at), length=query.length)})
