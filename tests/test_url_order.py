"""The busiest URLs are tried first: Django walks the URL patterns in order, and before
this order an open pixel or a send walked every dashboard pattern (a fifth of the
pixel's time in the server)."""

from __future__ import annotations

from django.urls import URLResolver, get_resolver, resolve

from config.api import REGISTRY


def test_tracking_then_the_rest_api_come_before_any_dashboard_page():
    patterns = get_resolver().url_patterns
    first = patterns[0]
    assert isinstance(first, URLResolver) and first.namespace == "tracking"
    rest = {path.lstrip("/") for path, _ in REGISTRY}
    following = [str(p.pattern) for p in patterns[1:1 + len(rest)]]
    assert set(following) == rest


def test_tracking_links_still_resolve_under_their_names():
    match = resolve("/t/o/abc")
    assert match.view_name == "tracking:track-open"
    assert resolve("/messages/send").func is not None
