"""Error pages: JSON in Braze's envelope for API clients, HTML for people.

Braze clients send `Accept: application/json` or `*/*`; browsers ask for text/html.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static


def _wants_html(request: HttpRequest) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_html(request):
        return render(request, "404.html", status=404)
    return JsonResponse({"message": "Not Found"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_html(request):
        # No request, so no context processors: the failure may be in one of them.
        return HttpResponse(render_to_string("500.html"), status=500)
    return JsonResponse({"message": "Internal Server Error"}, status=500)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page says; send them to the icon."""
    return redirect(static("favicon.svg"), permanent=True)
