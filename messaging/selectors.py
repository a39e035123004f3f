"""Reads of messaging: profiles for the dashboard and for /users/export/ids."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from analytics.models import CustomEvent, Purchase
from analytics.reporting import days_of
from analytics.selectors import campaigns_received_many
from campaigns.models import Channel

from .delivery.recipients import subscription_groups
from .models import (
    App,
    DeprecatedExternalId,
    EmailSubscriptionState,
    Profile,
    PushToken,
    SubscriptionGroup,
    SubscriptionState,
    UserAlias,
)
from .schemas.users import EXPORT_FIELDS, UsersExportIdsRequest


def profile_list(*, query: str = "") -> QuerySet[Profile]:
    """Profiles, newest first; `query` matches external_id, email or phone (or a braze_id)."""
    profiles = Profile.objects.order_by("-created_at", "-id")
    query = query.strip()
    if query:
        profiles = profiles.filter(
            Q(external_id__icontains=query) | Q(email__icontains=query)
            | Q(phone__icontains=query) | Q(braze_id=query.lower())
        )
    return profiles


def profile_get(*, braze_id: str) -> Profile | None:
    return Profile.objects.filter(braze_id=braze_id).first()


def profile_activity(*, profile: Profile, limit: int = 20) -> dict[str, Any]:
    """What the profile page shows besides the profile's own fields."""
    return {
        "aliases": list(profile.aliases.order_by("alias_label")),
        "push_tokens": list(profile.push_tokens.order_by("app_id", "-created_at")),
        "custom_events": list(CustomEvent.objects.filter(profile=profile)
                              .order_by("-time", "-id")[:limit]),
        "purchases": list(Purchase.objects.filter(profile=profile)
                          .order_by("-time", "-id")[:limit]),
        "deliveries": list(profile.deliveries.select_related("campaign", "variation")
                           .order_by("-created_at", "-id")[:limit]),
        "content_cards": list(profile.content_cards.select_related("campaign")
                              .order_by("-created_at", "-id")[:limit]),
    }


# --- /users/export/ids --------------------------------------------------------------------


def _ts(value: datetime | None) -> str | None:
    """Braze's export timestamps: ISO 8601 with milliseconds and Z (spec §3b.4)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _match(request: UsersExportIdsRequest) -> tuple[list[Profile], list[str]]:
    profiles: dict[int, Profile] = {}
    invalid: list[str] = []

    def take(found: list[Profile], label: str | None) -> None:
        for profile in found:
            profiles.setdefault(profile.pk, profile)
        if not found and label is not None:
            invalid.append(label)

    if request.external_ids:
        by_id = {p.external_id: p for p in Profile.objects.filter(
            external_id__in=request.external_ids)}
        # A deprecated external_id (/users/external_ids/rename) still names its profile.
        for old in DeprecatedExternalId.objects.select_related("profile").filter(
                external_id__in=set(request.external_ids) - set(by_id)):
            by_id[old.external_id] = old.profile
        for external_id in dict.fromkeys(request.external_ids):
            take([by_id[external_id]] if external_id in by_id else [], external_id)
    for alias in request.user_aliases or []:
        found = UserAlias.objects.select_related("profile").filter(
            alias_label=alias.alias_label, alias_name=alias.alias_name).first()
        take([found.profile] if found else [], alias.alias_name)
    if request.braze_id:
        take(list(Profile.objects.filter(braze_id=request.braze_id)), request.braze_id)
    if request.email_address:
        address = request.email_address.strip().lower()
        take(list(Profile.objects.filter(email=address)), request.email_address)
    if request.phone:
        take(list(Profile.objects.filter(phone=request.phone.strip())), request.phone)
    if request.device_id:
        take(list(Profile.objects.filter(push_tokens__device_id=request.device_id).distinct()),
             request.device_id)
    return list(profiles.values()), invalid


def profiles_export(*, request: UsersExportIdsRequest) -> tuple[list[dict[str, Any]], list[str]]:
    """(user export objects, identifiers that matched nobody). Only keys with data appear."""
    profiles, invalid = _match(request)
    return export_users(profiles=profiles,
                        fields=set(request.fields_to_export or EXPORT_FIELDS)), invalid


def export_users(*, profiles: list[Profile], fields: set[str]) -> list[dict[str, Any]]:
    """Braze's user export objects of `profiles`, with the `fields` asked for that have data
    (/users/export/ids, and the files of /users/export/segment)."""
    ids = [p.pk for p in profiles]

    aliases: dict[int, list[dict[str, str]]] = defaultdict(list)
    if "user_aliases" in fields:
        for alias in UserAlias.objects.filter(profile_id__in=ids).order_by("alias_label"):
            aliases[alias.profile_id].append(
                {"alias_name": alias.alias_name, "alias_label": alias.alias_label})
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if "custom_events" in fields:
        for row in (CustomEvent.objects.filter(profile_id__in=ids).values("profile_id", "name")
                    .annotate(first=Min("time"), last=Max("time"), count=Count("id"))
                    .order_by("name")):
            events[row["profile_id"]].append({"name": row["name"], "first": _ts(row["first"]),
                                              "last": _ts(row["last"]), "count": row["count"]})
    purchases: dict[int, list[dict[str, Any]]] = defaultdict(list)
    revenue: dict[int, float] = {}
    if "purchases" in fields or "total_revenue" in fields:
        for row in (Purchase.objects.filter(profile_id__in=ids).values("profile_id", "product_id")
                    .annotate(first=Min("time"), last=Max("time"), count=Count("id"),
                              revenue=Sum("price"))
                    .order_by("product_id")):
            purchases[row["profile_id"]].append({
                "name": row["product_id"], "first": _ts(row["first"]), "last": _ts(row["last"]),
                "count": row["count"]})
            revenue[row["profile_id"]] = revenue.get(row["profile_id"], 0) + float(row["revenue"])
    tokens: dict[int, list[dict[str, Any]]] = defaultdict(list)
    devices: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    if "push_tokens" in fields or "devices" in fields:
        rows = list(PushToken.objects.filter(profile_id__in=ids, invalidated_at__isnull=True))
        app_ids = []
        for row in rows:
            try:
                app_ids.append(uuid.UUID(row.app_id))
            except ValueError:
                pass
        apps = {a.app_id: a for a in App.objects.filter(api_id__in=app_ids)}
        for row in rows:
            app = apps.get(row.app_id)
            token: dict[str, Any] = {"app": app.name if app else row.app_id, "token": row.token,
                                     "notifications_enabled": True}
            if app:
                token["platform"] = app.get_platform_display()
            if row.device_id:
                token["device_id"] = row.device_id
                # Herald knows devices only through their push tokens.
                devices[row.profile_id].setdefault(row.device_id, {"device_id": row.device_id})
            tokens[row.profile_id].append(token)
    received: dict[int, list[dict[str, Any]]] = {}
    if "campaigns_received" in fields:
        # Braze's shape: last message per campaign, engaged flags, converted (spec §3b.4).
        received = campaigns_received_many(profile_ids=ids)

    users = []
    for profile in profiles:
        extras = profile.standard_extras or {}
        location = extras.get("current_location")
        values: dict[str, Any] = {
            "created_at": _ts(profile.created_at),
            "external_id": profile.external_id,
            "braze_id": profile.braze_id,
            "user_aliases": aliases.get(profile.pk, []),
            "first_name": profile.first_name, "last_name": profile.last_name,
            "email": profile.email, "phone": profile.phone, "home_city": profile.home_city,
            "dob": profile.dob.isoformat() if profile.dob else None,
            "country": profile.country, "language": profile.language,
            "time_zone": profile.time_zone, "gender": profile.gender,
            "last_coordinates": [location["longitude"], location["latitude"]] if location else None,
            "random_bucket": profile.random_bucket,
            "total_revenue": round(revenue[profile.pk], 4) if profile.pk in revenue else None,
            "email_subscribe": profile.email_subscribe,
            "push_subscribe": profile.push_subscribe,
            "custom_attributes": profile.custom_attributes or None,
            "custom_events": events.get(profile.pk),
            "purchases": purchases.get(profile.pk),
            "push_tokens": tokens.get(profile.pk),
            "devices": list(devices[profile.pk].values()) if profile.pk in devices else None,
            "campaigns_received": received.get(profile.pk),
        }
        user = {}
        for key, value in values.items():
            # Only keys with data are included (spec §3b.4); user_aliases was recorded
            # present even when empty, and random_bucket 0 is a real bucket.
            if key in fields and (value not in (None, "", []) or key == "user_aliases"
                                  or key == "random_bucket"):
                user[key] = value
        users.append(user)
    return users


# --- subscription groups ----------------------------------------------------------------------


def subscription_group_problem(group_id: str, *, channel: str | None = None) -> str | None:
    """Why `group_id` may not be used (on `channel`), or None when it may.

    NOTE: a fresh install with no group registered accepts any ID, as it does any `app_id`
    before the first app exists (Braze's examples use placeholders); once one group is
    registered (the data migration registers those already stored), the registry decides.
    """
    groups = SubscriptionGroup.objects.all()
    if not groups.exists():
        return None
    group = groups.filter(group_id=str(group_id)).first()
    if group is None:
        return "no such subscription group"
    if channel is not None and group.channel != channel:
        return f"not an {SubscriptionGroup.Channel(channel).label} subscription group"
    return None


def subscription_group_list() -> QuerySet[SubscriptionGroup]:
    return SubscriptionGroup.objects.order_by("channel", "name")


def sms_subscription_group_id() -> str | None:
    """The SMS group the campaign page's ready curl names: the first with sender numbers."""
    groups = list(SubscriptionGroup.objects.filter(channel=SubscriptionGroup.Channel.SMS)
                  .order_by("created_at", "id").values_list("group_id", "sender_numbers")[:100])
    with_numbers = [group_id for group_id, numbers in groups if numbers]
    return (with_numbers or [group_id for group_id, _ in groups] or [None])[0]


def subscription_user_status(
    *, external_ids: list[str] | None, emails: list[str] | None, phones: list[str] | None,
    limit: int, offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Each user's groups with a state (those with history only), and how many users match."""
    if external_ids:
        profiles = Profile.objects.filter(external_id__in=list(external_ids))
    elif emails:
        profiles = Profile.objects.filter(email__in=[e.strip().lower() for e in emails])
    else:
        profiles = Profile.objects.filter(phone__in=[p.strip() for p in phones or []])
    total = profiles.count()
    page = list(profiles.order_by("id")[offset:offset + limit])
    stored = {group_id for p in page for group_id in subscription_groups(p)}
    groups = {g.group_id: g for g in SubscriptionGroup.objects.filter(group_id__in=stored)}
    users = []
    for profile in page:
        states = []
        for group_id, state in sorted(subscription_groups(profile).items()):
            if state not in ("subscribed", "unsubscribed"):
                continue
            group = groups.get(group_id)
            states.append({"id": group_id, "name": group.name if group else "",
                           "channel": group.channel if group else "", "status": state.title()})
        users.append({"external_id": profile.external_id, "email": profile.email or None,
                      "phone": profile.phone or None, "subscription_groups": states})
    return users, total


def subscription_status(
    *, group_id: str, external_ids: list[str] | None = None, emails: list[str] | None = None,
    phones: list[str] | None = None,
) -> dict[str, str]:
    """`Subscribed`, `Unsubscribed` or `Unknown` per identifier asked about (spec §3b.7)."""
    if external_ids:
        field, asked = "external_id", list(external_ids)
    elif emails:
        field, asked = "email", [e.strip().lower() for e in emails]
    else:
        field, asked = "phone", [p.strip() for p in phones or []]
    states: dict[str, str] = {}
    # Newest last, so when several profiles share an address the freshest one answers.
    for profile in Profile.objects.filter(**{f"{field}__in": asked}).order_by("updated_at", "id"):
        state = (profile.standard_extras.get("subscription_groups") or {}).get(group_id)
        if state:
            states[getattr(profile, field)] = state
    return {key: states.get(key, "unknown").title() for key in dict.fromkeys(asked)}


# --- /email/unsubscribes ---------------------------------------------------------------------


def email_unsubscribe_list(
    *, start_date: date | None, end_date: date, email: str | None, limit: int, offset: int,
    descending: bool,
) -> list[EmailSubscriptionState]:
    states = EmailSubscriptionState.objects.filter(state=SubscriptionState.UNSUBSCRIBED)
    if email:
        # The address wins over the dates when both are given (spec §3b.6).
        states = states.filter(email=email.strip().lower())
    else:
        start = datetime.combine(start_date, time.min, tzinfo=UTC)
        end = datetime.combine(end_date, time.min, tzinfo=UTC)
        states = states.filter(updated_at__gte=start, updated_at__lt=end)
    order = ("-updated_at", "-id") if descending else ("updated_at", "id")
    return list(states.order_by(*order)[offset:offset + limit])


def app_ids_for_channels(channels: list[str]) -> dict[str, str]:
    """The app a ready-made example request should name per channel (one query): the
    oldest with that channel's provider configured; else, for email, the oldest email
    app; else the oldest app (SMS names an app of the workspace, any of them)."""
    rows = (
        App.objects.order_by("created_at", "pk")
        .values_list("api_id", "platform", "channel_configs__channel")
    )  # fmt: skip
    configured: dict[str, str] = {}
    email_app = oldest = None
    for api_id, platform, channel in rows:
        oldest = oldest or str(api_id)
        if channel in channels:
            configured.setdefault(channel, str(api_id))
        if platform == App.Platform.EMAIL and email_app is None:
            email_app = str(api_id)
    for channel in channels:
        fallback = email_app if channel == Channel.EMAIL and email_app else oldest
        if channel not in configured and fallback:
            configured[channel] = fallback
    return configured


# --- KPIs (/kpi/new_users/data_series, /kpi/uninstalls/data_series) ---------------------------


def _daily(rows: QuerySet, field: str, *, end: date, length: int, key: str
           ) -> list[dict[str, Any]]:
    days = days_of(end=end, length=length)
    start = datetime.combine(days[0], time.min, tzinfo=UTC)
    stop = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=UTC)
    counts = dict(rows.filter(**{f"{field}__gte": start, f"{field}__lt": stop})
                  .annotate(day=TruncDate(field, tzinfo=UTC)).values("day")
                  .annotate(n=Count("id")).order_by().values_list("day", "n"))
    return [{"time": day.isoformat(), key: counts.get(day, 0)} for day in days]


def new_users_series(*, end: date, length: int) -> list[dict[str, Any]]:
    return _daily(Profile.objects.all(), "created_at", end=end, length=length, key="new_users")


def uninstalls_series(*, end: date, length: int, app_id: str | None = None
                      ) -> list[dict[str, Any]]:
    tokens = PushToken.objects.filter(invalidated_at__isnull=False)
    if app_id:
        tokens = tokens.filter(app_id=app_id)
    return _daily(tokens, "invalidated_at", end=end, length=length, key="uninstalls")
