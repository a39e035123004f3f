"""Reads of analytics: results, series, segments."""

from __future__ import annotations

from django.db.models import QuerySet


def segment_profile_ids(*, segment_id: str) -> QuerySet | None:
    """Primary keys of the profiles in a segment, or None when no such segment exists."""
    return None
