"""Changes to profiles (Braze "users"): /users/track, aliases, identify, delete, email state.

Requests arrive validated (messaging.schemas.users). Each /users/track object is applied
in its own savepoint, so one object that cannot be stored is reported and the rest of
the request still lands, as Braze's partial-success answer promises (spec §3.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from analytics import services as analytics_services
from analytics.models import CustomEvent, EngagementEvent, Purchase

from ..models import (
    ContentCard,
    Delivery,
    EmailSubscriptionState,
    Profile,
    PushToken,
    SubscriptionState,
    UserAlias,
)
from ..schemas.users import (
    MAX_ARRAY_ATTRIBUTE,
    AliasNewItem,
    TrackAttributes,
    TrackEvent,
    TrackPurchase,
    UserAliasRef,
    UsersDeleteRequest,
    UsersIdentifyRequest,
)

# Standard attributes kept in a column of the same name ("" when cleared).
_TEXT_COLUMNS = ("first_name", "last_name", "home_city", "language", "time_zone", "country",
                 "gender", "phone")
# Standard attributes with no column of their own, kept in Profile.standard_extras.
_EXTRA_TIMES = ("date_of_first_session", "date_of_last_session", "marked_email_as_spam_at")
# Fields an identify carries from the folded profile when the target has none (§3b.2).
_FOLD_FIELDS = ("first_name", "last_name", "email", "gender", "dob", "phone", "time_zone",
                "home_city", "country", "language")


@dataclass
class TrackResult:
    attributes_processed: int | None = None
    events_processed: int | None = None
    purchases_processed: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


# --- finding and creating profiles ------------------------------------------------------


def _alias_q(alias: UserAliasRef) -> Q:
    return Q(aliases__alias_label=alias.alias_label, aliases__alias_name=alias.alias_name)


def _find(item: Any) -> Profile | None:
    """The profile an object names, by the first identifier present (email before phone)."""
    profiles = Profile.objects.select_for_update()
    if item.external_id:
        return profiles.filter(external_id=item.external_id).first()
    if item.user_alias:
        return profiles.filter(_alias_q(item.user_alias)).first()
    if item.braze_id:
        return profiles.filter(braze_id=item.braze_id).first()
    if item.email:
        return profiles.filter(email=item.email).order_by("-updated_at", "-id").first()
    if item.phone:
        return profiles.filter(phone=item.phone).order_by("-updated_at", "-id").first()
    return None


def _may_create(item: Any, *, is_attributes: bool) -> bool:
    if item.braze_id:
        return False  # Braze IDs are minted here; an unknown one names nobody.
    if item.user_alias:
        # Alias-only users are created only by attributes with an explicit false (§3.4);
        # events and purchases on an alias always update existing users only.
        return is_attributes and item.update_existing_only is False
    return item.update_existing_only is not True


def _create(item: Any) -> Profile:
    profile = Profile(external_id=item.external_id or None)
    if not item.external_id and not item.user_alias:
        profile.email = item.email or ""
        profile.phone = "" if item.email else (item.phone or "")
    if profile.email:
        _apply_remembered_email_state(profile)
    profile.full_clean(validate_unique=False, validate_constraints=False)
    profile.save()
    if item.user_alias:
        UserAlias.objects.create(
            profile=profile, alias_label=item.user_alias.alias_label,
            alias_name=item.user_alias.alias_name,
        )
    return profile


def _identity(item: Any) -> tuple[str, ...] | None:
    """The identifier an object resolves by, as a key for the per-request profile cache."""
    if item.external_id:
        return ("external_id", item.external_id)
    if item.user_alias:
        return ("alias", item.user_alias.alias_label, item.user_alias.alias_name)
    if item.braze_id:
        return ("braze_id", item.braze_id)
    # Email and phone may name several profiles and change as attributes apply: no cache.
    return None


def _resolve(item: Any, *, is_attributes: bool) -> Profile | None:
    if is_attributes and getattr(item, "push_token_import", None):
        existing = PushToken.objects.filter(
            token__in=[t.token for t in item.push_tokens or []]
        ).select_related("profile").first()
        return existing.profile if existing else _create(item)
    profile = _find(item)
    if profile is None and _may_create(item, is_attributes=is_attributes):
        if item.external_id:
            profile, _ = Profile.objects.get_or_create(external_id=item.external_id)
        else:
            profile = _create(item)
    return profile


def _apply_remembered_email_state(profile: Profile) -> None:
    remembered = EmailSubscriptionState.objects.filter(email=profile.email).first()
    if remembered is not None:
        profile.email_subscribe = remembered.state


# --- /users/track -----------------------------------------------------------------------


def _edit_array(current: Any, add: list[Any], remove: list[Any]) -> list[Any]:
    values = list(current) if isinstance(current, list) else ([] if current is None else [current])
    for value in add:
        # Values stay unique; a re-added value moves to the end (spec §3.4).
        values = [v for v in values if v != value] + [value]
    values = [v for v in values if v not in remove]
    return values[-MAX_ARRAY_ATTRIBUTE:]


def apply_custom_attributes(current: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """Return `current` with /users/track's custom-attribute updates applied."""
    result = dict(current)
    for name, value in updates.items():
        if value is None:
            result.pop(name, None)
        elif isinstance(value, dict) and value and set(value) <= {"inc", "add", "remove"}:
            if "inc" in value:
                base = result.get(name)
                if not isinstance(base, int | float) or isinstance(base, bool):
                    base = 0
                result[name] = base + value["inc"]
            if "add" in value or "remove" in value:
                result[name] = _edit_array(
                    result.get(name), value.get("add", []), value.get("remove", [])
                )
        else:
            result[name] = value
    return result


def _apply_attributes(profile: Profile, item: TrackAttributes) -> None:
    given = item.model_fields_set
    for name in _TEXT_COLUMNS:
        if name in given:
            setattr(profile, name, getattr(item, name) or "")
    if "email" in given and (item.external_id or item.user_alias or item.braze_id):
        new_email = item.email or ""
        if new_email != profile.email:
            profile.email = new_email
            if new_email and item.email_subscribe is None:
                _apply_remembered_email_state(profile)
    if "dob" in given:
        profile.dob = item.dob
    for name in ("email_subscribe", "push_subscribe"):
        if getattr(item, name) is not None:
            setattr(profile, name, getattr(item, name))
    for name in ("email_open_tracking_disabled", "email_click_tracking_disabled"):
        if getattr(item, name) is not None:
            setattr(profile, name, getattr(item, name))

    extras = dict(profile.standard_extras)
    for name in _EXTRA_TIMES:
        if name in given:
            value = getattr(item, name)
            extras[name] = value.isoformat() if value else None
    if "current_location" in given:
        extras["current_location"] = (
            item.current_location.model_dump() if item.current_location else None
        )
    for name in ("facebook", "twitter"):
        if name in given:
            extras[name] = getattr(item, name)
    if item.subscription_groups:
        groups = dict(extras.get("subscription_groups") or {})
        for group in item.subscription_groups:
            groups[group.subscription_group_id] = group.subscription_state
        extras["subscription_groups"] = groups
    profile.standard_extras = {k: v for k, v in extras.items() if v is not None}

    custom = item.custom_attributes()
    if custom:
        profile.custom_attributes = apply_custom_attributes(profile.custom_attributes, custom)
    profile.full_clean(validate_unique=False, validate_constraints=False)
    profile.save()

    if "email_subscribe" in given and profile.email and item.email_subscribe:
        _remember_email_state(profile.email, item.email_subscribe)
    for token in item.push_tokens or []:
        # A token belongs to one device, so it moves to the profile that reports it last.
        PushToken.objects.update_or_create(
            app_id=token.app_id, token=token.token,
            defaults={"profile": profile, "device_id": token.device_id or "",
                      "invalidated_at": None},
        )
    if item.date_of_last_session is not None:
        version = custom.get("app_version")
        analytics_services.app_session_record(
            profile_id=profile.pk, time=item.date_of_last_session,
            app_version=version if isinstance(version, str) else "",
        )


def _record_event(profile: Profile, item: TrackEvent) -> None:
    analytics_services.custom_event_record(
        profile_id=profile.pk, name=item.name, time=item.time,
        properties=item.properties or {}, app_id=item.app_id or "",
    )


def _record_purchase(profile: Profile, item: TrackPurchase) -> None:
    analytics_services.purchase_record(
        profile_id=profile.pk, product_id=item.product_id, currency=item.currency,
        price=Decimal(str(item.price)).quantize(Decimal("0.0001")), quantity=item.quantity,
        time=item.time, properties=item.properties or {}, app_id=item.app_id or "",
    )


@transaction.atomic
def profiles_track(
    *,
    attributes: list[tuple[int, TrackAttributes]] | None,
    events: list[tuple[int, TrackEvent]] | None,
    purchases: list[tuple[int, TrackPurchase]] | None,
) -> TrackResult:
    """Apply validated /users/track objects, given with their index in the request.

    Attributes first, then events, then purchases (spec §3.4). An object whose user does
    not exist and may not be created is skipped silently, as Braze does. One transaction
    for the request (one commit, not 225); each object is a savepoint inside it.
    """
    result = TrackResult()
    seen: dict[tuple[str, ...], Profile] = {}
    steps = (
        ("attributes", attributes, _apply_attributes, True),
        ("events", events, _record_event, False),
        ("purchases", purchases, _record_purchase, False),
    )
    for array, items, apply, is_attributes in steps:
        if items is None:
            continue
        processed = 0
        for index, item in items:
            identity = _identity(item)
            try:
                with transaction.atomic():
                    # One user often appears in attributes, events and purchases of the
                    # same request: look them up once (the row stays locked meanwhile).
                    profile = seen.get(identity) if identity else None
                    if profile is None:
                        profile = _resolve(item, is_attributes=is_attributes)
                    if profile is not None:
                        apply(profile, item)
                        if identity:
                            seen[identity] = profile
                processed += 1
            except IntegrityError:
                # The savepoint rolled back; the in-memory profile may be ahead of the row.
                seen.pop(identity, None)
                result.errors.append({
                    "type": "conflicts with another profile (identifier or token in use)",
                    "input_array": array, "index": index,
                })
        setattr(result, f"{array}_processed", processed)
    return result


# --- aliases ----------------------------------------------------------------------------


@transaction.atomic
def aliases_create(*, items: list[AliasNewItem]) -> int:
    """Add aliases (to an identified user, or as new alias-only users); return the count.

    A pair already taken, or an unknown external_id, changes nothing yet still counts
    (spec §3b.1).
    """
    for item in items:
        if UserAlias.objects.filter(
            alias_label=item.alias_label, alias_name=item.alias_name
        ).exists():
            continue
        if item.external_id:
            profile = Profile.objects.filter(external_id=item.external_id).first()
            if profile is None or profile.aliases.filter(alias_label=item.alias_label).exists():
                continue
        else:
            profile = Profile.objects.create()
        try:
            with transaction.atomic():
                UserAlias.objects.create(
                    profile=profile, alias_label=item.alias_label, alias_name=item.alias_name
                )
        except IntegrityError:  # taken meanwhile by a concurrent request: same outcome
            if not item.external_id:
                profile.delete()
    return len(items)


# --- identify ---------------------------------------------------------------------------


def _fold(*, source: Profile, target: Profile) -> None:
    """Move what only `source` knows onto `target`, then delete `source` (spec §3b.2)."""
    for name in _FOLD_FIELDS:
        if not getattr(target, name) and getattr(source, name):
            setattr(target, name, getattr(source, name))
    target.custom_attributes = {**source.custom_attributes, **target.custom_attributes}
    target.standard_extras = {**source.standard_extras, **target.standard_extras}
    taken_labels = set(target.aliases.values_list("alias_label", flat=True))
    source.aliases.exclude(alias_label__in=taken_labels).update(profile=target)
    PushToken.objects.filter(profile=source).update(profile=target)
    # Deliveries are unique per (dispatch, profile, channel): keep the target's where both
    # received the same dispatch on the same channel.
    target_pairs = set(
        Delivery.objects.filter(profile=target).values_list("dispatch_id", "channel")
    )
    for delivery in Delivery.objects.filter(profile=source).only("id", "dispatch_id", "channel"):
        if (delivery.dispatch_id, delivery.channel) not in target_pairs:
            Delivery.objects.filter(pk=delivery.pk).update(profile=target)
    ContentCard.objects.filter(profile=source).update(profile=target)
    # NOTE: message and engagement history move with the profile (spec §3b.2); these are
    # re-pointed, not re-recorded, so analytics counters stay as they were.
    CustomEvent.objects.filter(profile=source).update(profile=target)
    Purchase.objects.filter(profile=source).update(profile=target)
    EngagementEvent.objects.filter(profile=source).update(profile=target)
    source.delete()
    target.full_clean(validate_unique=False, validate_constraints=False)
    target.save()


def _identify(source: Profile, external_id: str) -> None:
    if source.external_id:
        return  # only unidentified profiles are identified
    target = Profile.objects.select_for_update().filter(external_id=external_id).first()
    if target is None:
        source.external_id = external_id
        source.save(update_fields=["external_id", "updated_at"])
        return
    source_labels = set(source.aliases.values_list("alias_label", flat=True))
    if source_labels & set(target.aliases.values_list("alias_label", flat=True)):
        return  # the target already has an alias with that label: not merged (§3b.2)
    _fold(source=source, target=target)


def _pick(candidates: list[Profile], prioritization: list[str]) -> Profile | None:
    """The one profile the prioritization rules choose, or None when still ambiguous."""
    if "identified" in prioritization:
        candidates = [p for p in candidates if p.external_id]
    elif "unidentified" in prioritization:
        candidates = [p for p in candidates if not p.external_id]
    if len(candidates) > 1:
        if "most_recently_updated" in prioritization:
            return max(candidates, key=lambda p: (p.updated_at, p.pk))
        if "least_recently_updated" in prioritization:
            return min(candidates, key=lambda p: (p.updated_at, p.pk))
        return None
    return candidates[0] if candidates else None


@transaction.atomic
def profiles_identify(*, request: UsersIdentifyRequest) -> int:
    """Identify unidentified profiles; return the number of items processed."""
    for item in request.aliases_to_identify:
        # Alias names are compared case-sensitively (spec §3b.2).
        alias = UserAlias.objects.select_related("profile").filter(
            alias_label=item.user_alias.alias_label, alias_name=item.user_alias.alias_name
        ).first()
        if alias is not None and alias.alias_name == item.user_alias.alias_name:
            _identify(alias.profile, item.external_id)
    for item in request.emails_to_identify:
        chosen = _pick(list(Profile.objects.filter(email=item.email.strip().lower())),
                       item.prioritization)
        if chosen is not None:
            _identify(chosen, item.external_id)
    for item in request.phone_numbers_to_identify:
        chosen = _pick(list(Profile.objects.filter(phone=item.phone.strip())),
                       item.prioritization)
        if chosen is not None:
            _identify(chosen, item.external_id)
    return (len(request.aliases_to_identify) + len(request.emails_to_identify)
            + len(request.phone_numbers_to_identify))


# --- delete -----------------------------------------------------------------------------


@transaction.atomic
def profiles_delete(*, request: UsersDeleteRequest) -> int:
    """Delete the profiles named; return the number of identifiers (found or not, §3b.3)."""
    identifiers = request.identifiers()
    doomed: list[int] = []
    if request.external_ids:
        doomed = list(Profile.objects.filter(external_id__in=request.external_ids)
                      .values_list("pk", flat=True))
    elif request.braze_ids:
        doomed = list(Profile.objects.filter(braze_id__in=request.braze_ids)
                      .values_list("pk", flat=True))
    elif request.user_aliases:
        for alias in request.user_aliases:
            doomed += Profile.objects.filter(_alias_q(alias)).values_list("pk", flat=True)
    else:
        for item in request.email_addresses or request.phone_numbers or []:
            if hasattr(item, "email"):
                candidates = Profile.objects.filter(email=item.email.strip().lower())
            else:
                candidates = Profile.objects.filter(phone=item.phone.strip())
            # Several matches and no rule to choose: nothing is deleted (spec §3b.3).
            chosen = _pick(list(candidates), item.prioritization)
            if chosen is not None:
                doomed.append(chosen.pk)
    Profile.objects.filter(pk__in=doomed).delete()
    return len(identifiers)


# --- email subscription state --------------------------------------------------------------


def _remember_email_state(email: str, state: str) -> None:
    EmailSubscriptionState.objects.update_or_create(email=email, defaults={"state": state})


@transaction.atomic
def email_status_set(*, emails: list[str], state: str) -> None:
    """Set the global email state of every profile with these addresses, and remember it.

    The remembered state is applied when a profile later gets the address (spec §3b.5),
    and unsubscribes are listed by GET /email/unsubscribes.
    """
    for email in emails:
        _remember_email_state(email, state)
    Profile.objects.filter(email__in=emails).update(email_subscribe=state,
                                                    updated_at=timezone.now())


def profile_email_unsubscribe(*, profile: Profile) -> Profile:
    """A profile unsubscribed from email (e.g. through a message's unsubscribe link)."""
    with transaction.atomic():
        profile.email_subscribe = SubscriptionState.UNSUBSCRIBED
        profile.save(update_fields=["email_subscribe", "updated_at"])
        if profile.email:
            _remember_email_state(profile.email, SubscriptionState.UNSUBSCRIBED)
    return profile


# --- subscription groups ------------------------------------------------------------------


def profiles_by_identifiers(
    *, external_ids: list[str] | None = None, emails: list[str] | None = None,
    phones: list[str] | None = None,
) -> QuerySet[Profile]:
    """Every profile named: email and phone match all profiles sharing them (spec §3b.7)."""
    if external_ids:
        return Profile.objects.filter(external_id__in=external_ids)
    if emails:
        return Profile.objects.filter(email__in=[e.strip().lower() for e in emails])
    return Profile.objects.filter(phone__in=[p.strip() for p in phones or []])


@transaction.atomic
def subscription_status_set(
    *, group_id: str, state: str, external_ids: list[str] | None = None,
    emails: list[str] | None = None, phones: list[str] | None = None,
) -> int:
    """Set a subscription group's state on the profiles named; return how many changed."""
    profiles = profiles_by_identifiers(external_ids=external_ids, emails=emails, phones=phones)
    changed = 0
    for profile in profiles.select_for_update():
        groups = dict(profile.standard_extras.get("subscription_groups") or {})
        groups[group_id] = state
        profile.standard_extras = {**profile.standard_extras, "subscription_groups": groups}
        profile.save(update_fields=["standard_extras", "updated_at"])
        changed += 1
    return changed


# --- dashboard --------------------------------------------------------------------------


@transaction.atomic
def profile_set_global_control(*, profile: Profile, in_control: bool) -> Profile:
    """Put a profile in or out of the global control group (API campaigns ignore it)."""
    profile.in_global_control_group = in_control
    profile.save(update_fields=["in_global_control_group", "updated_at"])
    return profile
