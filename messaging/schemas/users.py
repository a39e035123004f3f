"""Request and response models of the profile endpoints (spec §3.4, §3b).

The same models validate requests and document them in the OpenAPI document. Field
names are Braze's; numbers sent where Braze expects string IDs are coerced to strings
(spec §3b: recorded clients send `"external_id": 12345`).
"""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from django.utils import timezone
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from config.api.times import TimeOutOfRange
from config.api.times import parse_time as iso_time
from config.api.validation import first_text_problem

from ..phones import phone_normalize

MAX_TRACK_ITEMS = 75  # per array of /users/track (spec §2.7)
MAX_IDS = 50  # per profile endpoint request (spec §3b)
MAX_NAME_LENGTH = 255
MAX_STRING_VALUE = 255
MAX_ARRAY_ATTRIBUTE = 100  # custom-attribute arrays (spec §2.7: 25 by default, up to 100)
MAX_EVENT_PROPERTIES_BYTES = 100 * 1024
MAX_PURCHASE_PROPERTIES_BYTES = 50 * 1024

SubscribeState = Literal["opted_in", "subscribed", "unsubscribed"]
GENDERS = {"M", "F", "O", "N", "P"}
# Full words some SDKs send for gender; Braze stores the letter.
GENDER_WORDS = {"male": "M", "female": "F", "other": "O", "not_applicable": "N",
                "prefer_not_to_say": "P", "unknown": "P"}
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME_ZONES: set[str] | None = None


def _coerce_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


_IdText = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# The document says what is accepted: a string, or an integer (stored as its string).
IdString = Annotated[_IdText, BeforeValidator(_coerce_id, json_schema_input_type=_IdText | int)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]


def _phone_to_match(value: str) -> str:
    normalized = phone_normalize(value)
    if not normalized:
        # Would otherwise match every profile that has no phone.
        raise ValueError("not a phone number")
    return normalized


# A phone number that looks profiles up, in the form profiles store (messaging/phones.py).
PhoneNumber = Annotated[str, StringConstraints(min_length=1, max_length=32),
                        AfterValidator(_phone_to_match)]


# Braze's accepted date formats besides ISO 8601 (spec §3.4), tried in order.
_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S:%f%z",  # yyyy-MM-ddTHH:mm:ss:SSSZ
    "%Y-%m-%dT%H:%M:%S:%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%a %m %d %H:%M:%S.%f %z %Y",  # ddd MM dd HH:mm:ss.TZD YYYY
    "%a %b %d %H:%M:%S %z %Y",
)


def parse_time(value: Any) -> datetime:
    """A Braze timestamp: ISO 8601 or one of the listed formats; no zone means UTC.

    Timestamps in the future are clamped to now (spec §3.4).
    """
    if isinstance(value, datetime):
        parsed = iso_time(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = iso_time(text)
        except TimeOutOfRange:
            raise
        except ValueError:
            parsed = _listed_format(text)
            if parsed is None:
                raise ValueError("not a recognised date and time (use ISO 8601)") from None
    else:
        raise ValueError("must be a date and time string (ISO 8601)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("date and time out of range") from None
    return min(parsed, timezone.now())


def _listed_format(text: str) -> datetime | None:
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(text.replace("Z", "+0000"), fmt)
        except ValueError:
            continue
        try:
            return iso_time(parsed)  # the same bounds on the offset
        except ValueError:
            return None
    return None


BrazeTime = Annotated[datetime, BeforeValidator(parse_time)]


def refuse_bad_text(data: Any) -> Any:
    """A NUL or a lone surrogate anywhere in an object refuses that object alone."""
    problem = first_text_problem(data)
    if problem:
        raise ValueError(problem)
    return data


def check_property_name(name: str) -> None:
    if not name:
        raise ValueError("property and attribute names must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name {name[:40]!r}… is longer than {MAX_NAME_LENGTH} characters")
    if name.startswith("$"):
        raise ValueError(f"name {name!r} must not start with '$'")


def check_properties(
    properties: dict[str, Any], *, max_bytes: int, reserved: tuple[str, ...] = ()
) -> dict[str, Any]:
    for name, value in properties.items():
        check_property_name(name)
        if name in reserved:
            raise ValueError(f"{name!r} is a reserved property name")
        if isinstance(value, str) and len(value) > MAX_STRING_VALUE:
            raise ValueError(f"property {name!r} is longer than {MAX_STRING_VALUE} characters")
    if len(json.dumps(properties, ensure_ascii=False).encode()) > max_bytes:
        raise ValueError(f"properties are larger than {max_bytes // 1024} KB")
    return properties


class UserAliasRef(BaseModel):
    """A user alias: a (label, name) pair unique in the installation."""

    # NOTE: extra keys are ignored, not refused: edx-braze-client sends
    # {"alias_label", "alias_name", "external_id"} as a user_alias in /users/track.
    model_config = ConfigDict(extra="ignore")

    alias_name: Name
    alias_label: Name


# --- /users/track ---------------------------------------------------------------------


class _TrackItem(BaseModel):
    """Identifier fields shared by attributes, events and purchases."""

    model_config = ConfigDict(populate_by_name=True)

    external_id: IdString | None = None
    user_alias: UserAliasRef | None = None
    braze_id: IdString | None = None
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    update_existing_only: bool | None = Field(
        None, alias="_update_existing_only",
        description="true: never create a profile (always true for user_alias on events "
        "and purchases).",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value and not _EMAIL_RE.match(value):
            raise ValueError("not a valid email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        # Stored as matched: `+33 6 12 34 56 78` and `+33612345678` are one profile.
        return phone_normalize(value) if value is not None else None

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        return refuse_bad_text(data)

    @model_validator(mode="after")
    def _one_identifier(self) -> _TrackItem:
        given = [n for n in ("external_id", "user_alias", "braze_id") if getattr(self, n)]
        if len(given) > 1:
            raise ValueError("only one of 'external_id', 'braze_id' or 'user_alias' may be given")
        anonymous_import = getattr(self, "push_token_import", None) is True
        if not given and not self.email and not self.phone and not anonymous_import:
            # Braze's recorded text (spec §3.4); email and phone also identify.
            raise ValueError("'external_id' or 'braze_id' or 'user_alias' is required")
        return self


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    longitude: float = Field(ge=-180, le=180)
    latitude: float = Field(ge=-90, le=90)


class PushTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    device_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class SubscriptionGroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription_group_id: Name
    subscription_state: Literal["subscribed", "unsubscribed"]


# Standard attribute names; anything else in an attributes object is a custom attribute.
STANDARD_ATTRIBUTES = (
    "first_name", "last_name", "email", "phone", "country", "home_city", "language", "dob",
    "gender", "time_zone", "email_subscribe", "push_subscribe", "email_open_tracking_disabled",
    "email_click_tracking_disabled", "date_of_first_session", "date_of_last_session",
    "marked_email_as_spam_at", "current_location", "push_tokens", "subscription_groups",
    "facebook", "twitter",
)


def _check_custom_value(name: str, value: Any) -> None:
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if len(value) > MAX_STRING_VALUE:
            raise ValueError(
                f"custom attribute {name!r} is longer than {MAX_STRING_VALUE} characters"
            )
        return
    if isinstance(value, list):
        if len(value) > MAX_ARRAY_ATTRIBUTE:
            raise ValueError(
                f"custom attribute {name!r} has more than {MAX_ARRAY_ATTRIBUTE} items"
            )
        return
    if isinstance(value, dict):
        operators = set(value) & {"inc", "add", "remove"}
        if operators and set(value) - {"inc", "add", "remove"}:
            # A nested object that happens to use an operator's name: plain nested value.
            return
        if "inc" in value:
            step = value["inc"]
            if not isinstance(step, int | float) or isinstance(step, bool):
                raise ValueError(f"custom attribute {name!r}: 'inc' takes a number")
        for operator in ("add", "remove"):
            if operator in value and not isinstance(value[operator], list):
                raise ValueError(f"custom attribute {name!r}: {operator!r} takes an array")
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_EVENT_PROPERTIES_BYTES:
            raise ValueError(f"custom attribute {name!r} is larger than 100 KB")
        return
    raise ValueError(f"custom attribute {name!r} has an unsupported type")


class TrackAttributes(_TrackItem):
    """An attributes object: standard profile fields plus any custom attributes.

    Any other key is a custom attribute: `null` removes it, `{"inc": n}` increments it,
    arrays replace, `{"add": [...]}` / `{"remove": [...]}` edit an array, objects nest.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    push_token_import: bool | None = None
    first_name: str | None = Field(None, max_length=255)
    last_name: str | None = Field(None, max_length=255)
    country: str | None = Field(None, max_length=64, description="ISO-3166-1 alpha-2")
    home_city: str | None = Field(None, max_length=255)
    language: str | None = Field(None, max_length=8, description="ISO-639-1")
    dob: date | None = Field(None, description="YYYY-MM-DD")
    gender: str | None = Field(None, description="M, F, O, N, P or null")
    time_zone: str | None = Field(None, description="IANA time zone name")
    email_subscribe: SubscribeState | None = None
    push_subscribe: SubscribeState | None = None
    email_open_tracking_disabled: bool | None = None
    email_click_tracking_disabled: bool | None = None
    date_of_first_session: BrazeTime | None = None
    date_of_last_session: BrazeTime | None = None
    marked_email_as_spam_at: BrazeTime | None = None
    current_location: Location | None = None
    push_tokens: list[PushTokenIn] | None = Field(None, max_length=MAX_ARRAY_ATTRIBUTE)
    subscription_groups: list[SubscriptionGroupIn] | None = Field(None, max_length=MAX_IDS)
    facebook: dict[str, Any] | None = None
    twitter: dict[str, Any] | None = None

    @field_validator("gender")
    @classmethod
    def _gender(cls, value: str | None) -> str | None:
        if value is None:
            return None
        letter = GENDER_WORDS.get(value.strip().lower(), value.strip().upper())
        if letter not in GENDERS:
            raise ValueError("must be one of M, F, O, N, P or null")
        return letter

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        global _TIME_ZONES
        if value is None:
            return None
        if _TIME_ZONES is None:
            _TIME_ZONES = zoneinfo.available_timezones()
        if value not in _TIME_ZONES:
            raise ValueError("must be an IANA time zone name such as Europe/Paris")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        # Unmappable countries become null (spec §3.4) rather than failing the object.
        if value is None:
            return None
        value = value.strip()
        return value.upper() if len(value) == 2 and value.isalpha() else None

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return value.strip().lower() if value is not None else None

    @model_validator(mode="after")
    def _custom(self) -> TrackAttributes:
        for name, value in (self.model_extra or {}).items():
            check_property_name(name)
            _check_custom_value(name, value)
        if self.push_token_import:
            if self.external_id or self.braze_id:
                raise ValueError("push_token_import: no external_id or braze_id allowed")
            if not self.push_tokens:
                raise ValueError("push_token_import: push_tokens is required")
        return self

    def custom_attributes(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class TrackEvent(_TrackItem):
    """A custom event: each object is one occurrence (no deduplication)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    app_id: str | None = Field(None, max_length=64)
    name: Name
    time: BrazeTime = Field(description="ISO 8601; future times are clamped to now")
    properties: dict[str, Any] | None = None

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return check_properties(
            value, max_bytes=MAX_EVENT_PROPERTIES_BYTES, reserved=("time", "event_name")
        )


class TrackPurchase(_TrackItem):
    """A purchase; `quantity` n is stored as n purchases of quantity 1."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    app_id: str | None = Field(None, max_length=64)
    product_id: Name
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = Field(
        description="ISO 4217 alphabetic code"
    )
    price: float = Field(ge=-1e12, le=1e12, allow_inf_nan=False, description="in the base unit")
    quantity: int = Field(1, ge=1, le=100)
    time: BrazeTime
    properties: dict[str, Any] | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return check_properties(value, max_bytes=MAX_PURCHASE_PROPERTIES_BYTES)


class UsersTrackRequest(BaseModel):
    """Body of POST /users/track. Each array is optional and holds at most 75 objects.

    Objects are validated one by one: an invalid object is reported in `errors` and the
    others are still processed.
    """

    # NOTE: documentation only (the endpoint's `parse` validates). An item may be anything:
    # one that is not a valid object is refused on its own, in `errors`, with a 201 for the
    # rest (Braze's partial success), so the document says `anyOf: [the object, {}]`.
    attributes: list[TrackAttributes | Any] | None = Field(None, max_length=MAX_TRACK_ITEMS)
    events: list[TrackEvent | Any] | None = Field(None, max_length=MAX_TRACK_ITEMS)
    purchases: list[TrackPurchase | Any] | None = Field(None, max_length=MAX_TRACK_ITEMS)


class TrackItemError(BaseModel):
    type: str = Field(description="what is wrong with the object")
    input_array: Literal["attributes", "events", "purchases"]
    index: int


class UsersTrackResponse(BaseModel):
    message: str
    attributes_processed: int | None = None
    events_processed: int | None = None
    purchases_processed: int | None = None
    errors: list[TrackItemError] | None = None


# --- aliases, identify, delete --------------------------------------------------------


class AliasNewItem(BaseModel):
    alias_name: Name
    alias_label: Name
    external_id: IdString | None = Field(
        None, description="attach the alias to this user; absent: create an alias-only user"
    )

    @model_validator(mode="before")
    @classmethod
    def _nested(cls, data: Any) -> Any:
        # A recorded client nests the pair in `user_alias`; Braze accepted it (spec §3b.1).
        if isinstance(data, dict) and isinstance(data.get("user_alias"), dict):
            data = {**data["user_alias"], **{k: v for k, v in data.items() if k != "user_alias"}}
        return data


class UsersAliasNewRequest(BaseModel):
    user_aliases: list[AliasNewItem] = Field(min_length=1, max_length=MAX_IDS)


class AliasesProcessedResponse(BaseModel):
    message: str
    aliases_processed: int


Prioritization = list[
    Literal["identified", "unidentified", "most_recently_updated", "least_recently_updated"]
]


def _check_prioritization(value: list[str]) -> list[str]:
    if "identified" in value and "unidentified" in value:
        raise ValueError("use only one of 'identified' and 'unidentified'")
    return value


class AliasToIdentify(BaseModel):
    external_id: IdString
    user_alias: UserAliasRef


# An address used to find profiles. Stripped before the length check: a blank value
# would otherwise match every profile that has no email (and identify or delete it).
EmailLookup = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]


class EmailToIdentify(BaseModel):
    external_id: IdString
    email: EmailLookup
    prioritization: Prioritization = Field(min_length=1)

    _prio = field_validator("prioritization")(_check_prioritization)


class PhoneToIdentify(BaseModel):
    external_id: IdString
    phone: PhoneNumber
    prioritization: Prioritization = Field(min_length=1)

    _prio = field_validator("prioritization")(_check_prioritization)


class UsersIdentifyRequest(BaseModel):
    """At least one non-empty array; at most 50 items in all."""

    aliases_to_identify: list[AliasToIdentify] = Field(default_factory=list)
    emails_to_identify: list[EmailToIdentify] = Field(default_factory=list)
    phone_numbers_to_identify: list[PhoneToIdentify] = Field(default_factory=list)
    merge_behavior: Literal["none", "merge"] | None = Field(
        None, description="legacy; accepted and ignored (profiles are always merged)"
    )

    @model_validator(mode="after")
    def _some(self) -> UsersIdentifyRequest:
        total = (len(self.aliases_to_identify) + len(self.emails_to_identify)
                 + len(self.phone_numbers_to_identify))
        if total == 0:
            raise ValueError("one of aliases_to_identify, emails_to_identify or "
                             "phone_numbers_to_identify is required")
        return self


class EmailPrioritized(BaseModel):
    email: EmailLookup
    prioritization: Prioritization = Field(default_factory=list)

    _prio = field_validator("prioritization")(_check_prioritization)


class PhonePrioritized(BaseModel):
    phone: PhoneNumber
    prioritization: Prioritization = Field(default_factory=list)

    _prio = field_validator("prioritization")(_check_prioritization)


def _email_item(value: Any) -> Any:
    # The parameter table says string[]; the example uses objects (spec §3b.3). Take both.
    return {"email": value} if isinstance(value, str) else value


def _phone_item(value: Any) -> Any:
    return {"phone": value} if isinstance(value, str) else value


class UsersDeleteRequest(BaseModel):
    """Exactly one identifier kind, at most 50 identifiers."""

    model_config = ConfigDict(extra="forbid")

    external_ids: list[IdString] | None = None
    user_aliases: list[UserAliasRef] | None = None
    braze_ids: list[IdString] | None = None
    email_addresses: list[Annotated[EmailPrioritized, BeforeValidator(
        _email_item, json_schema_input_type=EmailPrioritized | EmailLookup)]] | None = None
    phone_numbers: list[Annotated[PhonePrioritized, BeforeValidator(
        _phone_item, json_schema_input_type=PhonePrioritized | PhoneNumber)]] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> UsersDeleteRequest:
        kinds = [name for name in type(self).model_fields if getattr(self, name)]
        if len(kinds) != 1:
            raise ValueError("give exactly one of external_ids, user_aliases, braze_ids, "
                             "email_addresses or phone_numbers")
        return self

    def identifiers(self) -> list[Any]:
        for name in type(self).model_fields:
            if getattr(self, name):
                return getattr(self, name)
        return []


class DeletedResponse(BaseModel):
    message: str
    deleted: int


# --- export -----------------------------------------------------------------------------

EXPORT_FIELDS = (
    "apps", "attributed_campaign", "attributed_source", "attributed_adgroup", "attributed_ad",
    "braze_id", "campaigns_received", "canvases_received", "cards_clicked", "country",
    "created_at", "custom_attributes", "custom_events", "devices", "dob", "email",
    "email_subscribe", "external_id", "first_name", "gender", "home_city", "language",
    "last_coordinates", "last_name", "phone", "purchases", "push_subscribe", "push_tokens",
    "random_bucket", "time_zone", "total_revenue", "uninstalled_at", "user_aliases",
)
ExportField = Literal[EXPORT_FIELDS]  # type: ignore[valid-type]


class UsersExportIdsRequest(BaseModel):
    """Profiles by identifier; unknown identifiers come back in `invalid_user_ids`."""

    model_config = ConfigDict(extra="forbid")

    external_ids: list[IdString] | None = None
    user_aliases: list[UserAliasRef] | None = None
    device_id: IdString | None = None
    braze_id: IdString | None = None
    email_address: EmailLookup | None = None
    phone: PhoneNumber | None = None
    fields_to_export: list[ExportField] | None = Field(
        None, description="omitted: every field is exported"
    )

    @model_validator(mode="after")
    def _identifiers(self) -> UsersExportIdsRequest:
        singles = [n for n in ("device_id", "email_address", "phone") if getattr(self, n)]
        if len(singles) > 1:
            raise ValueError("give at most one of device_id, email_address and phone")
        if len(self.external_ids or []) + len(self.user_aliases or []) > MAX_IDS:
            raise ValueError("The max number of external_ids and aliases per request was exceeded")
        if not (self.external_ids or self.user_aliases or self.braze_id or singles):
            raise ValueError("give external_ids, user_aliases, braze_id, device_id, "
                             "email_address or phone")
        return self


class UsersExportIdsResponse(BaseModel):
    message: str
    users: list[dict[str, Any]]
    invalid_user_ids: list[str] | None = None


# --- email ------------------------------------------------------------------------------

EmailAddress = Annotated[str, StringConstraints(min_length=3, max_length=254)]


class EmailStatusRequest(BaseModel):
    """Set the global email subscription state of one address or up to 50."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress | list[EmailAddress]
    subscription_state: SubscribeState

    @field_validator("email")
    @classmethod
    def _emails(cls, value: str | list[str]) -> list[str]:
        emails = [value] if isinstance(value, str) else value
        if not emails:
            raise ValueError("at least one address is required")
        if len(emails) > MAX_IDS:
            raise ValueError(f"at most {MAX_IDS} addresses per request")
        cleaned = [email.strip().lower() for email in emails]
        for email in cleaned:
            if not _EMAIL_RE.match(email):
                raise ValueError(f"{email!r} is not a valid email address")
        return cleaned


class EmailUnsubscribesQuery(BaseModel):
    """`end_date` plus either `start_date` or `email`."""

    start_date: date | None = None
    end_date: date
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)
    sort_direction: Literal["asc", "desc"] = "desc"
    email: str | None = None

    @model_validator(mode="after")
    def _window(self) -> EmailUnsubscribesQuery:
        if self.email:
            return self
        if self.start_date is None:
            raise ValueError("start_date or email is required")
        if self.start_date >= self.end_date:
            raise ValueError("start_date must be earlier than end_date")
        return self


class EmailUnsubscribe(BaseModel):
    email: str
    unsubscribed_at: str = Field(description='"YYYY-MM-DD HH:MM:SS +0000"')


class EmailUnsubscribesResponse(BaseModel):
    message: str
    emails: list[EmailUnsubscribe]


class SuccessResponse(BaseModel):
    message: str


# --- merge, alias update, external ID migration -------------------------------------------


class MergeIdentifier(BaseModel):
    """One user, named by exactly one of external_id, user_alias, email or phone.

    With email or phone, `prioritization` chooses among several profiles sharing it.
    """

    model_config = ConfigDict(extra="forbid")

    external_id: IdString | None = None
    user_alias: UserAliasRef | None = None
    email: EmailLookup | None = None
    phone: PhoneNumber | None = None
    prioritization: Prioritization | None = None

    @field_validator("prioritization")
    @classmethod
    def _prio(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_prioritization(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> MergeIdentifier:
        given = [n for n in ("external_id", "user_alias", "email", "phone") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of external_id, user_alias, email or phone")
        if given[0] in ("email", "phone") and not self.prioritization:
            raise ValueError("prioritization is required with email or phone")
        return self


class MergeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier_to_merge: MergeIdentifier
    identifier_to_keep: MergeIdentifier


class UsersMergeRequest(BaseModel):
    merge_updates: list[MergeUpdate] = Field(min_length=1, max_length=MAX_IDS)


class AliasUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias_label: Name
    old_alias_name: Name
    new_alias_name: Name


class UsersAliasUpdateRequest(BaseModel):
    alias_updates: list[AliasUpdate] = Field(min_length=1, max_length=MAX_IDS)


class ExternalIdRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_external_id: IdString
    new_external_id: IdString


class ExternalIdsRenameRequest(BaseModel):
    external_id_renames: list[ExternalIdRename] = Field(min_length=1, max_length=MAX_IDS)


class ExternalIdsRenameResponse(BaseModel):
    message: str
    external_ids: list[str] = Field(description="the current_external_id of each rename done")
    rename_errors: list[list[str]] = Field(
        description="[current_external_id, the reason] per rename refused")


class ExternalIdsRemoveRequest(BaseModel):
    external_ids: list[IdString] = Field(min_length=1, max_length=MAX_IDS)


class ExternalIdsRemoveResponse(BaseModel):
    message: str
    removed_ids: list[str]
    removal_errors: list[list[str]] = Field(description="[external_id, the reason] per refusal")


# --- export to a file -------------------------------------------------------------------------

GCG_EXPORT_FIELDS = ("braze_id", "email", "external_id", "phone", "user_aliases")


def _callback_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ValueError("callback_endpoint: must be an http or https URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("callback_endpoint: must be an http or https URL")
    return value


CallbackUrl = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_callback_url)]


class UsersExportSegmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segment_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    callback_endpoint: CallbackUrl | None = Field(
        None, description="Herald POSTs {success, message, url, time} here when the file is "
        "ready")
    fields_to_export: list[ExportField] = Field(min_length=1)
    output_format: Literal["zip", "gzip"] = "zip"


class UsersExportGlobalControlGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_endpoint: CallbackUrl | None = None
    fields_to_export: list[Literal[GCG_EXPORT_FIELDS]] = Field(  # type: ignore[valid-type]
        min_length=1)
    output_format: Literal["zip", "gzip"] = "zip"


class UsersExportFileResponse(BaseModel):
    message: str
    object_prefix: str
    url: str = Field(description="signed, expiring URL of the file (404 until it is written)")
