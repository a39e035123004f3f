"""REST endpoints: the KPIs messaging's own tables hold (new users, uninstalls).

The other KPIs (DAU, MAU) and the event, purchase and session series are analytics'
(analytics.api_reporting).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from analytics.api_query import _end_day
from analytics.api_reporting import AppSeriesQuery, SeriesResponse
from config.api import api_response, endpoint

from .. import selectors


@endpoint("/kpi/new_users/data_series", method="GET", permission="kpi.new_users.data_series",
          summary="New users per day", query=AppSeriesQuery, response=SeriesResponse,
          tags=("Export",))
def kpi_new_users(request: HttpRequest, query: AppSeriesQuery) -> JsonResponse:
    """Profiles created each day (`new_users`), whatever created them (/users/track, an
    alias, an import); `app_id` is accepted and ignored (profiles belong to no app)."""
    return api_response({"data": selectors.new_users_series(
        end=_end_day(query.ending_at), length=query.length)})


@endpoint("/kpi/uninstalls/data_series", method="GET", permission="kpi.uninstalls.data_series",
          summary="App uninstalls per day", query=AppSeriesQuery, response=SeriesResponse,
          tags=("Export",))
def kpi_uninstalls(request: HttpRequest, query: AppSeriesQuery) -> JsonResponse:
    """Push tokens a provider reported unregistered each day (`uninstalls`), Herald's sign
    of an uninstall (it has no SDK to see one), of one app with `app_id`."""
    return api_response({"data": selectors.uninstalls_series(
        end=_end_day(query.ending_at), length=query.length, app_id=query.app_id)})
