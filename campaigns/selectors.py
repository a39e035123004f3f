"""Reads of campaigns for the dashboard pages."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime

from django.db import connection
from django.db.models import Prefetch, QuerySet

from config import sql

from .models import Campaign, Channel, MessageVariation, Tag

SORTS = {
    "-updated": ("-updated_at", "-id"),
    "updated": ("updated_at", "id"),
    "name": ("name", "id"),
}
DEFAULT_SORT = "-updated"


def campaign_list(
    *,
    search: str = "",
    status: str = "",
    tag: str = "",
    sort: str = DEFAULT_SORT,
) -> QuerySet[Campaign]:
    """Campaigns matching the list filters, with what each row shows prefetched (no N+1)."""
    campaigns = Campaign.objects.prefetch_related(
        "tags",
        Prefetch(
            "variations",
            queryset=MessageVariation.objects.only("campaign_id", "channel", "position"),
        ),
    )
    if search.strip():
        campaigns = campaigns.filter(name__icontains=search.strip())
    if status in Campaign.Status.values:
        campaigns = campaigns.filter(status=status)
    if tag:
        campaigns = campaigns.filter(tags__name=tag)
    return campaigns.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def campaign_channels(campaign: Campaign) -> list[str]:
    """Channel labels of a campaign's messages, once each, in the order they were added."""
    labels: list[str] = []
    for variation in campaign.variations.all():
        label = Channel(variation.channel).label
        if label not in labels:
            labels.append(label)
    return labels


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.filter(campaigns__isnull=False).distinct().order_by("name")


def _public_id(value: str | uuid.UUID | None) -> uuid.UUID | None:
    """The UUID a public ID names; anything else (a typo, another system's ID) names none."""
    if not value:
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def campaign_by_public_id(value: str | uuid.UUID | None) -> Campaign | None:
    """The campaign a `campaign_id` names, or None: the one lookup by public ID."""
    api_id = _public_id(value)
    return None if api_id is None else Campaign.objects.filter(api_id=api_id).first()


# What a send reads of a campaign and its messages; anything else loads if touched.
_SEND_CAMPAIGN_FIELDS = ("id", "api_id", "name", "status", "kind")
_SEND_VARIATION_FIELDS = ("id", "api_id", "campaign_id", "channel", "name")


@functools.cache
def _campaign_with_variations_sql(vendor: str) -> str:
    q = connection.ops.quote_name
    variation, campaign = MessageVariation._meta, Campaign._meta
    columns = [f"v.{q(variation.get_field(name).column)}" for name in _SEND_VARIATION_FIELDS]
    columns += [f"c.{q(campaign.get_field(name).column)}" for name in _SEND_CAMPAIGN_FIELDS]
    return (
        f"SELECT {', '.join(columns)} FROM {q(variation.db_table)} v"
        f" JOIN {q(campaign.db_table)} c ON c.{q(campaign.pk.column)} ="
        f" v.{q(variation.get_field('campaign').column)}"
        f" WHERE c.{q(campaign.get_field('api_id').column)} = %s"
        f" ORDER BY v.{q(variation.pk.column)}"
    )


def campaign_with_variations(
    value: str | uuid.UUID | None,
) -> tuple[Campaign, list[MessageVariation]] | None:
    """The campaign a `campaign_id` names and its messages (in creation order), or None:
    for sends.

    One query when the campaign has messages (a second for one without any), written by
    hand, prepared, and built once per process (config.sql.instances): on every send
    request the ORM's select_related() compiled for longer than PostgreSQL ran it. Only
    the fields a send reads are loaded. The messages come as a list beside the campaign,
    not as a prefetched `campaign.variations`: building the related manager's queryset to
    hold them cost as much as the query.
    """
    api_id = _public_id(value)
    if api_id is None:
        return None
    param = Campaign._meta.get_field("api_id").get_db_prep_value(api_id, connection)
    rows = sql.fetch(_campaign_with_variations_sql(connection.vendor), [param])
    if rows:
        variations, campaigns = sql.instances(
            rows, [(MessageVariation, _SEND_VARIATION_FIELDS), (Campaign, _SEND_CAMPAIGN_FIELDS)]
        )
        campaign = campaigns[0]
    else:
        campaign, variations = Campaign.objects.filter(api_id=api_id).first(), []
        if campaign is None:
            return None
    for variation in variations:
        variation.campaign = campaign  # one instance, as a prefetch would leave it
    return campaign, variations


_EXPORT_FIELDS = ("id", "api_id", "name", "created_at", "updated_at")


def campaign_export_page(
    *, page: int, size: int, include_archived: bool, edited_after: datetime | None,
    descending: bool,
) -> list[tuple[Campaign, list[str]]]:
    """One page of GET /campaigns/list: campaigns by creation, each with its tag names.

    One query (the page, then its tags joined), written by hand: the ORM's version was two
    queries, each compiled on every request for longer than PostgreSQL ran it.
    """
    q = connection.ops.quote_name
    opts = Campaign._meta
    tags = Campaign.tags.through._meta
    tag = Tag._meta
    where, params = [], []
    if not include_archived:
        where.append(f"{q(opts.get_field('status').column)} <> %s")
        params.append(Campaign.Status.ARCHIVED.value)
    if edited_after is not None:
        where.append(f"{q(opts.get_field('updated_at').column)} > %s")
        params.append(opts.get_field("updated_at").get_db_prep_value(edited_after, connection))
    direction = "DESC" if descending else "ASC"
    order = f"created_at {direction}, id {direction}"
    columns = ", ".join(q(opts.get_field(name).column) for name in _EXPORT_FIELDS)
    statement = (
        f"SELECT {', '.join(f'c.{q(opts.get_field(name).column)}' for name in _EXPORT_FIELDS)},"
        f" t.{q(tag.get_field('name').column)}"
        f" FROM (SELECT {columns} FROM {q(opts.db_table)}"
        f"{' WHERE ' + ' AND '.join(where) if where else ''}"
        f" ORDER BY {order} LIMIT %s OFFSET %s) c"
        f" LEFT JOIN {q(tags.db_table)} ct ON ct.{q(tags.get_field('campaign').column)} = c.id"
        f" LEFT JOIN {q(tag.db_table)} t ON t.{q(tag.pk.column)} ="
        f" ct.{q(tags.get_field('tag').column)}"
        f" ORDER BY c.{order.replace(', id', ', c.id')}, t.{q(tag.get_field('name').column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, size, page * size])
        rows = cursor.fetchall()
    (campaigns,) = sql.instances(rows, [(Campaign, _EXPORT_FIELDS)])
    result: list[tuple[Campaign, list[str]]] = []
    for campaign, row in zip(campaigns, rows, strict=True):
        if not result or result[-1][0].pk != campaign.pk:
            result.append((campaign, []))
        if row[-1] is not None:
            result[-1][1].append(row[-1])
    return result


def campaign_get(*, api_id: uuid.UUID) -> Campaign | None:
    """One campaign by its public ID, with everything its page shows."""
    return (
        Campaign.objects.select_related("created_by", "updated_by")
        .prefetch_related("tags", "variations", "conversion_events")
        .filter(api_id=api_id)
        .first()
    )


def variation_ids_with_sends(*, campaign: Campaign) -> set[uuid.UUID]:
    """Public IDs of the campaign's messages that have been sent (not removable)."""
    return set(
        campaign.variations.filter(first_sent_at__isnull=False).values_list("api_id", flat=True)
    )
