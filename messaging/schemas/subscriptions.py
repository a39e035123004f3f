"""Request models of the subscription-group endpoints (spec §3b.7).

A group ID must name a registered group (messaging.SubscriptionGroup, checked by the
views); the state is stored per profile (where /users/track's `subscription_groups` writes).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .users import MAX_IDS, EmailAddress, IdString, Name, PhoneNumber

GroupState = Literal["subscribed", "unsubscribed"]
BOTH_EMAIL_AND_PHONE = (
    "Either an email address or a phone number should be provided, but not both."
)


def _listify(value: Any) -> Any:
    # A plain string was accepted where Braze documents an array (spec §3b.7).
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _list_or_one(item: Any) -> Any:
    """A list of `item`, or one `item` alone: what the document says is accepted."""
    return Annotated[list[item], BeforeValidator(  # type: ignore[valid-type]
        _listify, json_schema_input_type=Annotated[list[item], Field(max_length=MAX_IDS)] | item
    ), Field(max_length=MAX_IDS)]


IdList = _list_or_one(IdString)
EmailList = _list_or_one(EmailAddress)
PhoneList = _list_or_one(PhoneNumber)


def _one_kind(external_ids: list | None, emails: list | None, phones: list | None) -> None:
    if emails and phones:
        raise ValueError(BOTH_EMAIL_AND_PHONE)
    if not (external_ids or emails or phones):
        raise ValueError("give external_id, email or phone")


class SubscriptionStatusSetRequest(BaseModel):
    """Set one subscription group's state for up to 50 users of one identifier kind."""

    model_config = ConfigDict(extra="forbid")

    subscription_group_id: Name
    subscription_state: GroupState
    external_id: IdList | None = None
    email: EmailList | None = None
    phone: PhoneList | None = None

    @model_validator(mode="after")
    def _identifiers(self) -> SubscriptionStatusSetRequest:
        _one_kind(self.external_id, self.email, self.phone)
        return self


class SubscriptionGroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription_group_id: Name
    subscription_state: GroupState
    external_ids: IdList | None = None
    emails: EmailList | None = None
    phones: PhoneList | None = None
    use_double_opt_in_logic: bool = Field(False, description="accepted; no double opt-in flow")

    @model_validator(mode="before")
    @classmethod
    def _singular(cls, data: Any) -> Any:
        # A singular `external_id` inside an item was accepted (spec §3b.7).
        if isinstance(data, dict) and "external_id" in data and "external_ids" not in data:
            data = {**data, "external_ids": data["external_id"]}
            del data["external_id"]
        return data

    @model_validator(mode="after")
    def _identifiers(self) -> SubscriptionGroupUpdate:
        _one_kind(self.external_ids, self.emails, self.phones)
        return self


class SubscriptionStatusSetV2Request(BaseModel):
    """Several groups at once."""

    model_config = ConfigDict(extra="forbid")

    subscription_groups: list[SubscriptionGroupUpdate] = Field(min_length=1, max_length=MAX_IDS)


class SubscriptionStatusGetQuery(BaseModel):
    """One group; `external_id` (repeatable, also as `external_id[]`), else `email` or `phone`."""

    subscription_group_id: Name
    external_id: IdList | None = None
    email: EmailList | None = None
    phone: PhoneList | None = None

    @model_validator(mode="after")
    def _identifiers(self) -> SubscriptionStatusGetQuery:
        if self.external_id:
            return self  # external_id alone drives the lookup when present
        _one_kind(None, self.email, self.phone)
        return self


class SubscriptionStatusGetResponse(BaseModel):
    message: str
    status: dict[str, Literal["Subscribed", "Unsubscribed", "Unknown"]]


class SubscriptionUserStatusQuery(BaseModel):
    """Users by `external_id` (repeatable, also as `external_id[]`), else `email` or `phone`."""

    external_id: IdList | None = None
    email: EmailList | None = None
    phone: PhoneList | None = None
    limit: int = Field(100, ge=1, le=100, description="users per page (default and maximum 100)")
    offset: int = Field(0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _identifiers(self) -> SubscriptionUserStatusQuery:
        if self.external_id:
            return self
        _one_kind(None, self.email, self.phone)
        return self


class UserGroupState(BaseModel):
    id: str
    name: str
    channel: str
    status: Literal["Subscribed", "Unsubscribed"]


class UserGroups(BaseModel):
    external_id: str | None
    email: str | None
    phone: str | None
    subscription_groups: list[UserGroupState]


class SubscriptionUserStatusResponse(BaseModel):
    users: list[UserGroups]
    total_count: int
    message: str
