"""Placeholder pages; replaced as their issue is built."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path


@login_required
def placeholder(request, **kwargs):
    return HttpResponse("Not built yet.")


app_name = "analytics"

urlpatterns = [
    path("messaging/campaigns/<uuid:campaign_id>/results/", placeholder, name="campaign-results"),
    path("audience/segments/", placeholder, name="segment-list"),
    path("analytics/headlines/", placeholder, name="campaign-headlines"),
]
