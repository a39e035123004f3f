"""Placeholder pages; replaced as their issue is built."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path


@login_required
def placeholder(request, **kwargs):
    return HttpResponse("Not built yet.")


urlpatterns = [
    path("audience/profiles/", placeholder, name="profile-list"),
    path("audience/profiles/<str:braze_id>/", placeholder, name="profile-detail"),
]
