"""What every app's dashboard pages share: reading the search and filter boxes.

A filter box sends whatever was typed or pasted. Text no database stores (a NUL
character: PostgreSQL refuses one in any query) would end in a 500, so such a value is
ignored and the page says so (config.api.validation.text_problem, the API's own check).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

from config.api.validation import text_problem

IGNORED = "The {label} was ignored: {problem}."


def filter_value(request: HttpRequest, name: str, *, label: str, max_length: int = 200) -> str:
    """The stripped value of the `name` query parameter ("" if absent or unusable)."""
    value = request.GET.get(name, "").strip()[:max_length]
    problem = text_problem(value)
    if problem:
        messages.warning(request, IGNORED.format(label=label, problem=problem))
        return ""
    return value
