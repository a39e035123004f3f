"""The SDK's files, served by Herald at stable, versioned, cache-friendly URLs.

- /sdk/v1/<file>: the current 1.x release; browsers revalidate it hourly (ETag), so a fix
  reaches sites without their changing anything.
- /sdk/<version>/<file> (e.g. /sdk/1.0.0/herald.js): that exact release, cached for a year
  (immutable). Only the release this Herald carries is there.

Files: herald.mjs (ES module, as written in static/sdk/), herald.js (the same code as a
classic script defining `window.Herald`, derived from the module when first served: no
build step), herald.d.ts (types) and herald-sw.js (the service worker, with
Service-Worker-Allowed: / so a page on Herald's own origin may give it any scope).
Each is public: `Access-Control-Allow-Origin: *`, as `<script type="module">` from another
origin needs.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import re_path
from django.views.decorators.http import require_safe

SOURCE = Path(settings.BASE_DIR) / "static" / "sdk"
VERSION = "1.0.0"
MAJOR = "v" + VERSION.split(".")[0]
TYPES = {".mjs": "text/javascript", ".js": "text/javascript",
         ".ts": "application/typescript"}
_EXPORTS = re.compile(r"^export\b.*$", re.MULTILINE)


def classic_script(module: str) -> str:
    """The module as a classic script: its `export` lines dropped, its body wrapped in a
    function, and `Herald` published as a global (the module has no imports)."""
    body = _EXPORTS.sub("", module).rstrip()
    banner, _, rest = body.partition("\n")
    return f"{banner}\n(function () {{\n{rest}\n\nglobalThis.Herald = Herald;\n}})();\n"


@functools.cache
def _file(name: str) -> tuple[bytes, str]:
    if name == "herald.js":
        text = classic_script((SOURCE / "herald.mjs").read_text())
    else:
        text = (SOURCE / name).read_text()
    data = text.encode()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


FILES = ("herald.mjs", "herald.js", "herald.d.ts", "herald-sw.js")


@require_safe
def sdk_file(request: HttpRequest, version: str, name: str) -> HttpResponse:
    if version not in (MAJOR, VERSION):
        raise Http404("No such SDK version")
    data, etag = _file(name)
    cache = ("public, max-age=31536000, immutable" if version == VERSION
             else "public, max-age=3600")
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        content_type = TYPES[Path(name).suffix] + "; charset=utf-8"
        response = HttpResponse(data, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    if name == "herald-sw.js":
        response["Service-Worker-Allowed"] = "/"
    return response


_NAMES = "|".join(re.escape(n) for n in FILES)
urlpatterns = [
    # /sdk/v1/herald.js, /sdk/1.0.0/herald.js, … (the REST paths /sdk/v1/identify… are
    # the API's, config.urls)
    re_path(rf"^sdk/(?P<version>v\d+|\d+\.\d+\.\d+)/(?P<name>{_NAMES})$", sdk_file,
            name="sdk-file"),
]
