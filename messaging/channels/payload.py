"""Reading Braze message objects: what the push adapters' payload builders share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def copy_fields(
    source: dict[str, Any], target: dict[str, Any], names: Iterable[tuple[str, str]]
) -> None:
    """Copy each (Braze field → provider key) that is set; None means "not given" in Braze's
    objects, whereas False and 0 are real values (e.g. use_webview, badge) and are kept."""
    for braze_name, provider_key in names:
        if source.get(braze_name) is not None:
            target[provider_key] = source[braze_name]


def priority(payload: dict[str, Any]) -> int | None:
    """Braze's `priority` (−2…2 on Android and Kindle) when it is an integer, else None.

    bool is an int in Python; a JSON `true` is not a priority.
    """
    value = payload.get("priority")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
