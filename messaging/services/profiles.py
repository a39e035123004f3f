"""Changes to profiles (Braze "users"): /users/track, aliases, identify, delete, email state.

Requests arrive validated (messaging.schemas.users). A /users/track request is applied as
a batch: its profiles are read with a few `__in` queries, every object is applied and
validated in memory (an object that fails is reported and the rest still lands, as
Braze's partial-success answer promises, spec §3.4), then bulk statements write it all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import IntegerField, Q, QuerySet, Value
from django.utils import timezone

from analytics import services as analytics_services
from analytics.models import CustomEvent, EngagementEvent, Purchase

from ..models import (
    ContentCard,
    Delivery,
    DeprecatedExternalId,
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


# --- /users/track: custom attributes ------------------------------------------------------


def _alias_q(alias: UserAliasRef) -> Q:
    return Q(aliases__alias_label=alias.alias_label, aliases__alias_name=alias.alias_name)


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


def _may_create(item: Any, *, is_attributes: bool) -> bool:
    if item.braze_id:
        return False  # Braze IDs are minted here; an unknown one names nobody.
    if item.user_alias:
        # Alias-only users are created only by attributes with an explicit false (§3.4);
        # events and purchases on an alias always update existing users only.
        return is_attributes and item.update_existing_only is False
    return item.update_existing_only is not True


def _is_import(item: Any, *, is_attributes: bool) -> bool:
    return is_attributes and bool(getattr(item, "push_token_import", None))


def _apply_attributes(profile: Profile, item: TrackAttributes, remembered: dict[str, str]) -> None:
    """Change `profile` in memory only; the caller validates, then writes in bulk."""
    given = item.model_fields_set
    for name in _TEXT_COLUMNS:
        if name in given:
            setattr(profile, name, getattr(item, name) or "")
    if "email" in given and (item.external_id or item.user_alias or item.braze_id):
        new_email = item.email or ""
        if new_email != profile.email:
            profile.email = new_email
            if new_email and item.email_subscribe is None and new_email in remembered:
                profile.email_subscribe = remembered[new_email]
    if "dob" in given:
        profile.dob = item.dob
    for name in ("email_subscribe", "push_subscribe", "email_open_tracking_disabled",
                 "email_click_tracking_disabled"):
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


def _event_row(profile: Profile, item: TrackEvent) -> dict[str, Any]:
    """The keyword arguments of analytics' custom_event_record for one event object."""
    return {"profile_id": profile.pk, "name": item.name, "time": item.time,
            "properties": item.properties or {}, "app_id": item.app_id or ""}


def _purchase_row(profile: Profile, item: TrackPurchase) -> dict[str, Any]:
    """The keyword arguments of analytics' purchase_record for one purchase object."""
    return {"profile_id": profile.pk, "product_id": item.product_id, "currency": item.currency,
            "price": Decimal(str(item.price)).quantize(Decimal("0.0001")),
            "quantity": item.quantity, "time": item.time,
            "properties": item.properties or {}, "app_id": item.app_id or ""}


# input_array -> (row builder, batch recorder, single recorder, batch keyword)
_RECORDERS = {
    "events": (_event_row, "custom_events_record", "custom_event_record", "events"),
    "purchases": (_purchase_row, "purchases_record", "purchase_record", "purchases"),
}


# --- /users/track: one request as a batch ---------------------------------------------------

AliasKey = tuple[str, str]
Located = tuple[str, int]  # (input_array, index) of an object in the request
CONFLICT = "conflicts with another profile (identifier or token in use)"
# Columns /users/track may change; only those that did change are written back.
_TRACKED_COLUMNS = (*_TEXT_COLUMNS, "email", "dob", "email_subscribe", "push_subscribe",
                    "email_open_tracking_disabled", "email_click_tracking_disabled",
                    "standard_extras", "custom_attributes")
# Columns /users/track never changes need no re-validation (12 ms per 75 objects).
_UNTRACKED = [f.name for f in Profile._meta.concrete_fields if f.name not in _TRACKED_COLUMNS]


def _profiles_update(profiles: list[Profile], columns: list[str]) -> None:
    """Write `columns` of many profiles in one UPDATE.

    Django's bulk_update builds a CASE WHEN per row and column and spent ~100 ms of CPU
    on 75 profiles (most of a request); on PostgreSQL one UPDATE … FROM (VALUES …) with
    the same per-field preparation does it in a few milliseconds.
    """
    if connection.vendor != "postgresql":
        Profile.objects.bulk_update(profiles, columns)
        return
    qn = connection.ops.quote_name
    pk = Profile._meta.pk
    fields = [Profile._meta.get_field(name) for name in columns]
    row = "(" + ", ".join(f"%s::{f.db_type(connection)}" for f in [pk, *fields]) + ")"
    params: list[Any] = []
    for profile in profiles:
        params.append(profile.pk)
        params.extend(f.get_db_prep_save(getattr(profile, f.attname), connection)
                      for f in fields)
    names = ", ".join(qn(f.column) for f in [pk, *fields])
    sets = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in fields)
    table = qn(Profile._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(profiles))}) "
            f"AS v({names}) WHERE {table}.{qn(pk.column)} = v.{qn(pk.column)}",
            params,
        )


class _TrackBatch:
    """The profiles one /users/track request names, read with a few `__in` queries, changed
    in memory object by object (in request order), then written with bulk statements.

    Objects are resolved exactly as one-by-one processing would: an alias-only or
    email-only profile made by an earlier object is found by later ones, an email set by
    an earlier object makes that profile the most recently updated for an email lookup.
    """

    def __init__(self, steps: list[tuple[str, list[tuple[int, Any]], bool]]) -> None:
        self.steps = steps
        self.errors: list[dict[str, Any]] = []
        self.by_external_id: dict[str, Profile] = {}
        self.by_braze_id: dict[str, Profile] = {}
        self.by_alias: dict[AliasKey, Profile] = {}
        self.by_email: dict[str, list[Profile]] = defaultdict(list)
        self.by_phone: dict[str, list[Profile]] = defaultdict(list)
        # (app_id, token) -> [order, profile]; order: the row's pk, or after every row.
        self.tokens: dict[tuple[str, str], list[Any]] = {}
        self.remembered: dict[str, str] = {}
        # External IDs pre-created as bare rows, and not yet "born": the object that
        # creates them one-by-one has not been reached (or failed validation).
        self.unborn: dict[str, str] = {}  # external_id -> braze_id we inserted
        self.touch: dict[int, int] = {}  # id(profile) -> order of its last change
        self.original: dict[int, dict[str, Any]] = {}  # pk -> tracked columns as read
        self.new_profiles: list[Profile] = []
        self.new_aliases: list[tuple[Profile, AliasKey]] = []
        self.users: dict[int, list[Located]] = defaultdict(list)  # id(profile) -> objects
        self.token_writes: dict[tuple[str, str], tuple[Profile, str]] = {}
        self.email_states: dict[str, str] = {}
        self.sessions: list[tuple[Profile, Any, str]] = []
        self.records: list[tuple[str, int, Profile, Any]] = []

    # --- reading ------------------------------------------------------------------------

    def load(self) -> None:
        external_ids, braze_ids, emails, phones = set(), set(), set(), set()
        aliases: set[AliasKey] = set()
        tokens: set[str] = set()
        import_tokens: set[str] = set()
        remembered_emails: set[str] = set()
        for _, items, is_attributes in self.steps:
            for _, item in items:
                if is_attributes:
                    tokens.update(t.token for t in item.push_tokens or [])
                    if item.email:
                        remembered_emails.add(item.email)
                if _is_import(item, is_attributes=is_attributes):
                    import_tokens.update(t.token for t in item.push_tokens or [])
                elif item.external_id:
                    external_ids.add(item.external_id)
                elif item.user_alias:
                    aliases.add((item.user_alias.alias_label, item.user_alias.alias_name))
                elif item.braze_id:
                    braze_ids.add(item.braze_id)
                elif item.email:
                    emails.add(item.email)
                elif item.phone:
                    phones.add(item.phone)

        profile_ids: set[int] = set()
        deprecated: dict[str, int] = {}
        if external_ids:
            # Which IDs name a profile already, as its primary ID or as a deprecated one
            # (/users/external_ids/rename): one query. A deprecated ID still names its
            # profile and is never given to a new one.
            existing: set[str] = set()
            primary = (Profile.objects.filter(external_id__in=external_ids).order_by()
                       .annotate(old=Value(None, output_field=IntegerField()))
                       .values_list("external_id", "old"))
            for external_id, old_of in primary.union(
                    DeprecatedExternalId.objects.filter(external_id__in=external_ids)
                    .order_by().values_list("external_id", "profile_id"), all=True):
                if old_of is None:
                    existing.add(external_id)
                else:
                    deprecated[external_id] = old_of
            external_ids -= deprecated.keys()
            profile_ids.update(deprecated.values())
            self._precreate(external_ids, existing)
        alias_rows: list[tuple[str, str, int]] = []
        if aliases:
            match = Q()
            for label, name in aliases:
                match |= Q(alias_label=label, alias_name=name)
            alias_rows = list(UserAlias.objects.filter(match)
                              .values_list("alias_label", "alias_name", "profile_id"))
            profile_ids.update(row[2] for row in alias_rows)
        token_rows: list[tuple[int, str, str, int]] = []
        if tokens:
            token_rows = list(PushToken.objects.filter(token__in=tokens).order_by("pk")
                              .values_list("pk", "app_id", "token", "profile_id"))
            profile_ids.update(row[3] for row in token_rows if row[2] in import_tokens)

        match = Q(pk__in=profile_ids) if profile_ids else Q()
        for column, values in (("external_id", external_ids), ("braze_id", braze_ids),
                              ("email", emails), ("phone", phones)):
            if values:
                match |= Q(**{f"{column}__in": values})
        by_pk: dict[int, Profile] = {}
        if match:
            # Rows are locked in primary-key order so that concurrent requests naming the
            # same users wait for each other instead of deadlocking.
            for profile in Profile.objects.select_for_update().filter(match).order_by("pk"):
                by_pk[profile.pk] = profile
                self.original[profile.pk] = {c: getattr(profile, c) for c in _TRACKED_COLUMNS}
                if profile.external_id:
                    self.by_external_id[profile.external_id] = profile
                self.by_braze_id[profile.braze_id] = profile
                if profile.email:
                    self.by_email[profile.email].append(profile)
                if profile.phone:
                    self.by_phone[profile.phone].append(profile)
        for old_id, profile_id in deprecated.items():
            if profile_id in by_pk:
                self.by_external_id[old_id] = by_pk[profile_id]
        for label, name, profile_id in alias_rows:
            if profile_id in by_pk:
                self.by_alias[(label, name)] = by_pk[profile_id]
        for pk, app_id, token, profile_id in token_rows:
            self.tokens[(app_id, token)] = [pk, by_pk.get(profile_id)]
        if remembered_emails:
            self.remembered = dict(EmailSubscriptionState.objects.filter(
                email__in=remembered_emails).values_list("email", "state"))

    def _precreate(self, external_ids: set[str], existing: set[str]) -> None:
        """Insert bare rows for the external IDs some object may create (not `existing`).

        INSERT … ON CONFLICT DO NOTHING: a concurrent request creating the same user makes
        this a no-op (its row is read instead), never an IntegrityError.
        """
        wanted: dict[str, Profile] = {}
        for _, items, is_attributes in self.steps:
            for _, item in items:
                external_id = item.external_id
                if (external_id in external_ids and external_id not in existing
                        and external_id not in wanted
                        and not _is_import(item, is_attributes=is_attributes)
                        and _may_create(item, is_attributes=is_attributes)):
                    wanted[external_id] = Profile(external_id=external_id)
        if wanted:
            Profile.objects.bulk_create(
                [wanted[x] for x in sorted(wanted)], ignore_conflicts=True)
            self.unborn = {x: profile.braze_id for x, profile in wanted.items()}

    # --- resolving, in request order ------------------------------------------------------

    def _newest(self, candidates: list[Profile]) -> Profile | None:
        # One-by-one processing would have saved every changed profile (updated_at = now),
        # so changed ones rank first, in the order of their last change.
        def rank(profile: Profile) -> tuple[Any, ...]:
            return (self.touch.get(id(profile), 0), profile.updated_at, profile.pk or 0)
        return max(candidates, key=rank) if candidates else None

    def _resolve(self, item: Any, *, is_attributes: bool) -> tuple[Profile | None, bool]:
        """(profile, is_new): the profile an object names, or a new unsaved one."""
        if _is_import(item, is_attributes=is_attributes):
            wanted = {t.token for t in item.push_tokens or []}
            known = [entry for (_, token), entry in self.tokens.items()
                     if token in wanted and entry[1] is not None]
            if known:
                return min(known, key=lambda entry: entry[0])[1], False
            return self._new(item), True
        may_create = _may_create(item, is_attributes=is_attributes)
        if item.external_id:
            if item.external_id in self.unborn:
                if not may_create:
                    return None, False
                del self.unborn[item.external_id]
            return self.by_external_id.get(item.external_id), False
        if item.user_alias:
            key = (item.user_alias.alias_label, item.user_alias.alias_name)
            profile = self.by_alias.get(key)
        elif item.braze_id:
            profile = self.by_braze_id.get(item.braze_id)
        elif item.email:
            profile = self._newest(self.by_email.get(item.email, []))
        else:
            profile = self._newest(self.by_phone.get(item.phone, []))
        if profile is None and may_create:
            return self._new(item), True
        return profile, False

    def _new(self, item: Any) -> Profile:
        profile = Profile()
        if not item.user_alias:
            profile.email = item.email or ""
            profile.phone = "" if item.email else (item.phone or "")
        if profile.email in self.remembered:
            profile.email_subscribe = self.remembered[profile.email]
        return profile

    def _register(self, profile: Profile, item: Any) -> None:
        """Index a new profile, as if it had been saved."""
        self.new_profiles.append(profile)
        self.by_braze_id[profile.braze_id] = profile
        if item.user_alias:
            key = (item.user_alias.alias_label, item.user_alias.alias_name)
            self.by_alias[key] = profile
            self.new_aliases.append((profile, key))

    def _reindex(self, profile: Profile, old_email: str, old_phone: str) -> None:
        for index, old, new in ((self.by_email, old_email, profile.email),
                                (self.by_phone, old_phone, profile.phone)):
            if old == new:
                continue
            if old and profile in index[old]:
                index[old].remove(profile)
            if new and profile not in index[new]:
                index[new].append(profile)

    def apply(self) -> None:
        order = 0
        for array, items, is_attributes in self.steps:
            for index, item in items:
                order += 1
                unborn_before = dict(self.unborn)
                profile, is_new = self._resolve(item, is_attributes=is_attributes)
                if profile is None:
                    continue  # names nobody and may not create: skipped silently (§3.4)
                if is_attributes:
                    snapshot = profile.__dict__.copy()
                    old_email, old_phone = profile.email, profile.phone
                    _apply_attributes(profile, item, self.remembered)
                    try:
                        profile.full_clean(exclude=_UNTRACKED, validate_unique=False,
                                           validate_constraints=False)
                    except ValidationError as exc:
                        # Validated before anything is written: the object is reported
                        # and leaves no trace, the others go on.
                        profile.__dict__.update(snapshot)
                        self.unborn = unborn_before
                        self.errors.append({"type": "; ".join(exc.messages),
                                            "input_array": array, "index": index})
                        continue
                    self._after_attributes(profile, item, old_email, old_phone)
                else:
                    self.records.append((array, index, profile, item))
                if is_new:
                    self._register(profile, item)
                    self._reindex(profile, "", "")
                if is_attributes or is_new:
                    self.touch[id(profile)] = order
                self.users[id(profile)].append((array, index))

    def _after_attributes(self, profile: Profile, item: TrackAttributes, old_email: str,
                          old_phone: str) -> None:
        self._reindex(profile, old_email, old_phone)
        if "email_subscribe" in item.model_fields_set and profile.email and item.email_subscribe:
            self.email_states[profile.email] = item.email_subscribe
            self.remembered[profile.email] = item.email_subscribe
        for token in item.push_tokens or []:
            # A token belongs to one device, so it moves to the profile that reports it last.
            key = (token.app_id, token.token)
            self.token_writes[key] = (profile, token.device_id or "")
            entry = self.tokens.setdefault(key, [float("inf"), profile])
            entry[1] = profile
        if item.date_of_last_session is not None:
            version = item.custom_attributes().get("app_version")
            self.sessions.append((profile, item.date_of_last_session,
                                  version if isinstance(version, str) else ""))

    # --- writing ------------------------------------------------------------------------

    def write(self) -> None:
        now = timezone.now()
        if self.new_profiles:
            Profile.objects.bulk_create(self.new_profiles)
        lost = self._write_aliases()
        changed: list[Profile] = []
        columns: set[str] = set()
        seen: set[int] = set()
        for profile in self.by_braze_id.values():
            if profile.pk in self.original and profile.pk not in seen:
                seen.add(profile.pk)
                before = self.original[profile.pk]
                diff = {c for c in _TRACKED_COLUMNS if getattr(profile, c) != before[c]}
                if diff:
                    profile.updated_at = now
                    changed.append(profile)
                    columns |= diff
        if changed:
            _profiles_update(changed, sorted(columns | {"updated_at"}))
        if self.unborn:
            # Pre-created for an object that then failed validation: never created.
            Profile.objects.filter(braze_id__in=self.unborn.values(),
                                   external_id__in=self.unborn).delete()
        tokens = [PushToken(app_id=app_id, token=token, profile=profile, device_id=device,
                            invalidated_at=None)
                  for (app_id, token), (profile, device) in sorted(self.token_writes.items())
                  if id(profile) not in lost]
        if tokens:
            PushToken.objects.bulk_create(
                tokens, update_conflicts=True, unique_fields=["app_id", "token"],
                update_fields=["profile", "device_id", "invalidated_at"])
        if self.email_states:
            EmailSubscriptionState.objects.bulk_create(
                [EmailSubscriptionState(email=e, state=s)
                 for e, s in sorted(self.email_states.items())],
                update_conflicts=True, unique_fields=["email"],
                update_fields=["state", "updated_at"])
        sessions = [{"profile_id": profile.pk, "time": time, "app_version": version}
                    for profile, time, version in self.sessions if id(profile) not in lost]
        if sessions:
            analytics_services.app_sessions_record(sessions=sessions)
        # After the attributes (spec §3.4): all events, then all purchases, each array
        # recorded by one analytics call, so its cost does not grow with its size.
        for array in ("events", "purchases"):
            self._record(array, [(index, profile, item) for a, index, profile, item in self.records
                                 if a == array and id(profile) not in lost])

    def _record(self, array: str, objects: list[tuple[int, Profile, Any]]) -> None:
        if not objects:
            return
        build, batch, single, keyword = _RECORDERS[array]
        try:
            getattr(analytics_services, batch)(**{keyword: [build(p, i) for _, p, i in objects]})
            return
        except IntegrityError:
            pass  # rolled back by the batch's own savepoint: find the culprits one by one
        for index, profile, item in objects:
            try:
                getattr(analytics_services, single)(**build(profile, item))
            except IntegrityError:
                # Rolled back by the recording function's own savepoint; the rest lands.
                self.errors.append({"type": CONFLICT, "input_array": array, "index": index})

    def _write_aliases(self) -> set[int]:
        """Insert the aliases of new alias-only profiles; return id() of those that lost.

        A concurrent request may have taken the same (label, name) meanwhile: its profile
        wins, ours is removed and every object that used it is reported as a conflict.
        """
        if not self.new_aliases:
            return set()
        UserAlias.objects.bulk_create(
            [UserAlias(profile=p, alias_label=label, alias_name=name)
             for p, (label, name) in self.new_aliases], ignore_conflicts=True)
        ours = {p.pk: p for p, _ in self.new_aliases}
        kept = set(UserAlias.objects.filter(profile_id__in=ours)
                   .values_list("profile_id", flat=True))
        losers = [p for pk, p in ours.items() if pk not in kept]
        if not losers:
            return set()
        Profile.objects.filter(pk__in=[p.pk for p in losers]).delete()
        for profile in losers:
            for array, index in self.users[id(profile)]:
                self.errors.append({"type": CONFLICT, "input_array": array, "index": index})
        return {id(p) for p in losers}


@transaction.atomic
def profiles_track(
    *,
    attributes: list[tuple[int, TrackAttributes]] | None,
    events: list[tuple[int, TrackEvent]] | None,
    purchases: list[tuple[int, TrackPurchase]] | None,
) -> TrackResult:
    """Apply validated /users/track objects, given with their index in the request.

    Attributes first, then events, then purchases (spec §3.4). An object whose user does
    not exist and may not be created is skipped silently, as Braze does. The profiles of
    the whole request are read with a few `__in` queries and every object is applied and
    validated in memory first; then one transaction writes them with bulk statements, so
    the number of queries for attributes does not grow with the number of objects.
    """
    steps = [(name, items, name == "attributes")
             for name, items in (("attributes", attributes), ("events", events),
                                 ("purchases", purchases)) if items is not None]
    batch = _TrackBatch([(name, items, is_attr) for name, items, is_attr in steps if items])
    batch.load()
    batch.apply()
    batch.write()
    result = TrackResult(errors=batch.errors)
    for name, items, _ in steps:
        failed = sum(1 for e in batch.errors if e["input_array"] == name)
        setattr(result, f"{name}_processed", len(items) - failed)
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
    # Marks, conversions, segment memberships and app versions are keyed by profile: moved
    # (and counted once where both had one) before the delete would cascade them away.
    analytics_services.profile_merge_analytics(source_profile_id=source.pk,
                                               target_profile_id=target.pk)
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
        # A deprecated external_id names its profile too: deleting by it deletes the user.
        doomed = list(Profile.objects.filter(external_id__in=request.external_ids)
                      .values_list("pk", flat=True))
        doomed += DeprecatedExternalId.objects.filter(
            external_id__in=request.external_ids).values_list("profile_id", flat=True)
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
