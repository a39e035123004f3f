"""URLs: the dashboard apps, the admin, and the REST API at Braze's paths on the root.

This is the composition root of the REST API: it imports each app's `api` module (which
registers its endpoints), registers the domain error table, and wraps every path in
messaging's guard. No app imports the guard or the table itself.
"""

from collections import defaultdict

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import include, path

import analytics.api  # noqa: F401  (registers endpoints)
import analytics.api_reporting  # noqa: F401
import campaigns.api  # noqa: F401
import messaging.api  # noqa: F401
from config import health
from config.api import REGISTRY
from config.api.domain_errors import answer_domain_errors
from config.api.not_offered import urlpatterns as not_offered_urlpatterns
from config.api.openapi import openapi_view
from config.braze_errors import BRAZE_ERRORS
from config.errors import favicon
from messaging.access.guard import guard
from messaging.views import ops as messaging_ops

answer_domain_errors(BRAZE_ERRORS)


def _rest_urlpatterns() -> list:
    by_path = defaultdict(dict)
    for (endpoint_path, method), endpoint in REGISTRY.items():
        by_path[endpoint_path][method] = endpoint
    return [
        path(endpoint_path.lstrip("/"), guard(endpoints))
        for endpoint_path, endpoints in sorted(by_path.items())
    ]


urlpatterns = [
    # Django tries these in order, so the busiest come first: the tracking links of every
    # email (/t/…), then the REST API (exact paths; none is also a dashboard path).
    path("", include("messaging.tracking.urls")),
    *_rest_urlpatterns(),
    path("", lambda request: redirect("campaigns:list"), name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/openapi.json", openapi_view, name="openapi"),
    # Operations: load balancers and Prometheus (messaging.views.ops serves /metrics).
    path("favicon.ico", favicon),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", messaging_ops.metrics, name="metrics"),
    # Dashboard
    path("messaging/campaigns/", include("campaigns.urls")),
    path("", include("analytics.urls")),
    path("", include("messaging.urls")),
    path("", include("accounts.urls")),
    # Braze features Herald does not offer (/canvas/…, /catalogs/…): a 404 that says so.
    *not_offered_urlpatterns,
]

handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
