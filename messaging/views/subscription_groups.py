"""Settings › Subscription groups: the registry of Braze subscription groups (email lists,
SMS groups with their sender numbers) whose IDs the API accepts."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from accounts.access import permission_required

from ..models import SubscriptionGroup
from ..selectors import subscription_group_list
from ..services.providers import subscription_group_create


class SubscriptionGroupForm(forms.Form):
    name = forms.CharField(max_length=100)
    channel = forms.ChoiceField(choices=SubscriptionGroup.Channel.choices)
    sender_numbers = forms.CharField(
        label="Sender numbers", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="SMS groups: one E.164 number per line, e.g. +14155550100.")


@permission_required("messaging.view_subscriptiongroup", write="messaging.add_subscriptiongroup")
@require_http_methods(["GET", "POST"])
def subscription_group_list_view(request: HttpRequest) -> HttpResponse:
    form = SubscriptionGroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = subscription_group_create(
                name=data["name"], channel=data["channel"],
                sender_numbers=data["sender_numbers"].splitlines(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Subscription group “{group.name}” created. "
                                      f"Its ID is {group.group_id}.")
            return redirect("messaging:subscription-group-list")
    return render(request, "messaging/subscription_group_list.html", {
        "nav": "settings", "groups": subscription_group_list(), "form": form,
    }, status=200 if not form.errors else 400)


urlpatterns = [
    path("settings/subscription-groups/", subscription_group_list_view,
         name="subscription-group-list"),
]
