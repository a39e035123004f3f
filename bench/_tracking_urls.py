"""Herald's URLs plus two bare views, the baselines of bench/tracking.py.

`/bench/o/<token>` answers the open pixel's bytes and `/bench/c/<token>` the click's
redirect, through the same middleware, decorators and server as `/t/o/…` and `/t/c/…`,
but without reading the token or recording anything.
"""

import base64

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.urls import handler404, handler500  # noqa: F401 - the same error views
from config.urls import urlpatterns as herald_urlpatterns

# The same 1×1 GIF as messaging.tracking.views.PIXEL_GIF (kept here: a bench must not
# depend on the module it measures for its baseline).
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
LINK = "https://example.test/landing?from=bench"


@never_cache
@require_GET
def bare_pixel(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse(PIXEL_GIF, content_type="image/gif")


@never_cache
@require_GET
def bare_redirect(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponseRedirect(LINK)


urlpatterns = [
    path("bench/o/<str:token>", bare_pixel),
    path("bench/c/<str:token>", bare_redirect),
    *herald_urlpatterns,
]
