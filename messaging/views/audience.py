"""Audience: the profile list (search, pages) and one profile's page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from accounts.access import permission_required
from config.dashboard import filter_value

from .. import selectors
from ..models import Profile
from ..services.profiles import profile_set_global_control

PAGE_SIZE = 25


def _get_profile(braze_id: str) -> Profile:
    profile = selectors.profile_get(braze_id=braze_id)
    if profile is None:
        raise Http404("No such profile")
    return profile


@permission_required("messaging.view_profile")
def profile_list(request: HttpRequest) -> HttpResponse:
    query = filter_value(request, "q", label="search")
    page = Paginator(selectors.profile_list(query=query), PAGE_SIZE).get_page(
        request.GET.get("page"))
    template = "messaging/profile_list.html"
    if request.htmx:
        template += "#profile-table"
    return render(request, template, {
        "nav": "audience", "query": query, "page": page,
        "total": Profile.objects.count(),
    })


@permission_required("messaging.view_profile")
def profile_detail(request: HttpRequest, braze_id: str) -> HttpResponse:
    profile = _get_profile(braze_id)
    activity = selectors.profile_activity(profile=profile)
    context = {
        "nav": "audience",
        "profile": profile,
        "custom_attributes_json": json.dumps(profile.custom_attributes, indent=2,
                                             ensure_ascii=False, sort_keys=True),
        "extras": sorted((profile.standard_extras or {}).items()),
        **activity,
    }
    return render(request, "messaging/profile_detail.html", context)


@permission_required("messaging.change_profile")
@require_POST
def profile_control_group(request: HttpRequest, braze_id: str) -> HttpResponse:
    profile = profile_set_global_control(
        profile=_get_profile(braze_id), in_control=request.POST.get("in_control") == "1"
    )
    if request.htmx:
        return render(request, "messaging/profile_detail.html#control-group",
                      {"profile": profile})
    messages.success(request, "Global control group membership updated.")
    return redirect("messaging:profile-detail", braze_id=profile.braze_id)


urlpatterns = [
    path("audience/", lambda request: redirect("messaging:profile-list"), name="audience"),
    path("audience/profiles/", profile_list, name="profile-list"),
    # /audience/profiles/<braze_id>/…
    path("audience/profiles/<str:braze_id>/", profile_detail, name="profile-detail"),
    path("audience/profiles/<str:braze_id>/control-group/", profile_control_group,
         name="profile-control-group"),
]
