"""The Braze features Herald does not offer: a JSON 404 that says so.

A Braze client pointed at Herald that calls one of these gets, instead of a bare
`{"message": "Not Found"}`, a 404 whose message names the feature and says Herald does
not offer it, so the client's log says why. The README's table lists the same prefixes.
Any method, with or without an API key: nothing is looked up.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

# Path prefix (at the server root) -> the Braze feature, as Braze's documentation names it.
NOT_OFFERED: dict[str, str] = {
    "canvas": "Canvas",
    "catalogs": "Catalogs",
    "cdi": "Cloud Data Ingestion (CDI)",
    "preference_center": "Preference centers",
}


def not_offered_message(prefix: str) -> str:
    feature = NOT_OFFERED[prefix]
    return (f"Herald does not offer Braze's {feature} feature (/{prefix}/…): Herald serves "
            "API campaigns only; see the README, \"Braze features Herald does not offer\"")


def _view(prefix: str):  # type: ignore[no-untyped-def]
    @csrf_exempt
    def view(request: HttpRequest, rest: str = "") -> JsonResponse:
        return JsonResponse({"message": not_offered_message(prefix)}, status=404)

    return view


urlpatterns = [
    re_path(rf"^{prefix}(?:/(?P<rest>.*))?$", _view(prefix)) for prefix in NOT_OFFERED
]
