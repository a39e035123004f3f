"""The profiles a dispatch targets, counted, and walked in pages.

The audience is cut into shards (primary-key ranges of DISPATCH_SHARD_SIZE profiles,
`shard_bounds`) when the dispatch is planned, and each shard is walked by primary key in
fixed-size pages (keyset pagination: no big result set), so a broadcast to millions never
sits in memory whole, and a page read again after a crash is the same page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from analytics.selectors import segment_profile_ids

from ..audience import audience_matches, audience_needs_python, audience_q
from ..models import Dispatch, Profile, UserAlias
from ..scheduling.times import time_zone_q

BATCH_SIZE = 1000


def audience_queryset(dispatch: Dispatch) -> QuerySet[Profile]:
    """The dispatch's profiles, before subscription rules (those are per channel)."""
    audience = dispatch.audience or {}
    profiles = Profile.objects.all()
    if not audience.get("broadcast"):
        query = Q(external_id__in=audience.get("external_user_ids") or [])
        aliases = audience.get("user_aliases") or []
        if aliases:
            alias_query = Q()
            for alias in aliases:
                alias_query |= Q(alias_label=alias["alias_label"], alias_name=alias["alias_name"])
            query |= Q(pk__in=UserAlias.objects.filter(alias_query).values("profile_id"))
        profiles = profiles.filter(query)
    segment_id = audience.get("segment_id")
    if segment_id:
        members = segment_profile_ids(segment_id=segment_id)
        # A segment deleted since the request was accepted: nobody is left to message.
        profiles = profiles.filter(pk__in=members) if members is not None else profiles.none()
    if audience.get("exclude_global_control"):
        # An API-triggered campaign honours the global control group (an API campaign never).
        profiles = profiles.filter(in_global_control_group=False)
    buckets = audience.get("random_buckets")
    if buckets is not None:
        # One variant group of an A/B split: profiles with lo <= random_bucket < hi.
        profiles = profiles.filter(random_bucket__gte=buckets[0], random_bucket__lt=buckets[1])
    zones = audience.get("time_zones")
    if zones is not None:
        # One wave of a local-time schedule: the profiles of the zones now due.
        profiles = profiles.filter(time_zone_q(zones))
    tree = audience.get("filter")
    if tree:
        # Connected Audience: the database filters (a superset when some leaf is a regex or
        # time comparison; audience_batches finishes those per page, see messaging.audience).
        profiles = profiles.filter(audience_q(tree))
    return profiles


def python_filter(dispatch: Dispatch) -> dict[str, Any] | None:
    """The dispatch's audience filter when some of it can only be evaluated in Python."""
    tree = (dispatch.audience or {}).get("filter")
    return tree if tree and audience_needs_python(tree) else None


def audience_count(dispatch: Dispatch, profiles: QuerySet[Profile]) -> int:
    """How many profiles the dispatch targets (before per-channel subscription rules)."""
    tree = python_filter(dispatch)
    if tree is None:
        return profiles.count()
    # Streams only the columns the Python leaves read, in chunks: memory stays flat.
    rows = profiles.only("pk", "custom_attributes", "push_subscribe", "email_subscribe")
    return sum(1 for p in rows.iterator(chunk_size=2000) if audience_matches(tree, p))


def audience_batches(
    profiles: QuerySet[Profile], size: int | None = None, *, tree: dict[str, Any] | None = None
) -> Iterator[list[Profile]]:
    """Pages of profiles by ascending pk (keyset pagination: no OFFSET, no big result set).

    With `tree` (a filter with Python-only leaves) each page is narrowed in Python; the
    keyset moves on from the page as read, so a page may come out smaller, even empty."""
    size = size or BATCH_SIZE
    last_pk = 0
    while True:
        batch = list(profiles.filter(pk__gt=last_pk).order_by("pk")[:size])
        if not batch:
            return
        last_pk = batch[-1].pk
        if tree is not None:
            batch = [profile for profile in batch if audience_matches(tree, profile)]
            if not batch:
                continue
        yield batch


def shard_bounds(profiles: QuerySet[Profile], size: int) -> list[tuple[int, int]]:
    """(pk_from, pk_to] ranges of about `size` profiles each, covering the audience.

    One indexed lookup per shard (the pk `size` places further), never the pks themselves:
    planning a broadcast to millions reads a few thousand values."""
    ordered = profiles.order_by("pk").values_list("pk", flat=True)
    bounds: list[tuple[int, int]] = []
    last = 0
    while True:
        edge = list(ordered.filter(pk__gt=last)[size - 1 : size])
        if edge:
            bounds.append((last, edge[0]))
            last = edge[0]
            continue
        tail = list(profiles.filter(pk__gt=last).order_by("-pk").values_list("pk", flat=True)[:1])
        if tail:
            bounds.append((last, tail[0]))
        return bounds
