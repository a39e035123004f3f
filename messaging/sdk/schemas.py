"""Request and response models of the web SDK's endpoints (POST /sdk/v1/…).

Every body names the web app by its public `sdk_key`; a body that writes for a user
carries that user's `token` (an HS256 JWT signed by the customer's backend, see
messaging.sdk.access). The same models validate requests and document them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..schemas.content_cards import Card
from ..schemas.users import (
    MAX_EVENT_PROPERTIES_BYTES,
    MAX_PURCHASE_PROPERTIES_BYTES,
    BrazeTime,
    Name,
    check_properties,
)

MAX_SDK_EVENTS = 75  # per array, as /users/track (spec §2.7)
MAX_CARD_EVENTS = 100  # one per card of a full feed (messaging.schemas.content_cards)

SdkKeyText = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9_-]+$")]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096,
                                         pattern=r"^[A-Za-z0-9_.=-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sdk_key: SdkKeyText = Field(description="the web app's public SDK key (hrld_pub_…)")


class _UserBody(_Body):
    token: Token = Field(description="the user's HS256 JWT: `sub` is the external_id, "
                                     "`exp` required, signed by the customer's backend")


class IdentifyRequest(_UserBody):
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        None, description="if given, must be the token's `sub`")


class IdentifyResponse(BaseModel):
    message: str
    external_id: str
    braze_id: str
    vapid_public_key: str | None = Field(
        description="the applicationServerKey for PushManager.subscribe; null without a "
                    "web push provider for this app")


class SessionRequest(_UserBody):
    pass


class SdkEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    time: BrazeTime | None = Field(None, description="ISO 8601; default now")
    properties: dict[str, Any] | None = None

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return check_properties(value, max_bytes=MAX_EVENT_PROPERTIES_BYTES,
                                reserved=("time", "event_name"))


class SdkPurchase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Name
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = Field(
        description="ISO 4217 alphabetic code")
    price: float = Field(ge=-1e12, le=1e12, allow_inf_nan=False)
    quantity: int = Field(1, ge=1, le=100)
    time: BrazeTime | None = None
    properties: dict[str, Any] | None = None

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return check_properties(value, max_bytes=MAX_PURCHASE_PROPERTIES_BYTES)


class TrackRequest(_UserBody):
    events: list[SdkEvent] = Field(default_factory=list, max_length=MAX_SDK_EVENTS)
    purchases: list[SdkPurchase] = Field(default_factory=list, max_length=MAX_SDK_EVENTS)


class TrackResponse(BaseModel):
    message: str
    events_processed: int
    purchases_processed: int


class CardsRequest(_UserBody):
    pass


class CardsResponse(BaseModel):
    message: str
    external_id: str
    cards: list[Card]


class CardEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["impression", "click", "dismissal"]
    card_id: Annotated[str, StringConstraints(min_length=1, max_length=32,
                                              pattern=r"^[A-Za-z0-9]+$")]
    id: Annotated[str, StringConstraints(min_length=1, max_length=64,
                                         pattern=r"^[\x21-\x7e]+$")] | None = Field(
        None, description="the SDK's own id of this event: a retry with it counts once")
    time: BrazeTime | None = None


class CardEventsRequest(_UserBody):
    events: list[CardEvent] = Field(min_length=1, max_length=MAX_CARD_EVENTS)


class RecordedResponse(BaseModel):
    message: str
    events_processed: int
    events_recorded: int


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: Annotated[str, StringConstraints(min_length=1, max_length=256,
                                             pattern=r"^[A-Za-z0-9_=-]+$")]
    auth: Annotated[str, StringConstraints(min_length=1, max_length=256,
                                           pattern=r"^[A-Za-z0-9_=-]+$")]


class PushSubscriptionIn(BaseModel):
    """A browser's PushSubscription, as its toJSON() gives it."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Annotated[str, StringConstraints(min_length=9, max_length=2048,
                                               pattern=r"^https://[\x21-\x7e]+$")]
    keys: SubscriptionKeys
    expirationTime: float | None = None  # noqa: N815  (the browser's name)


class PushSubscribeRequest(_UserBody):
    subscription: PushSubscriptionIn


class PushRefreshRequest(_Body):
    old_endpoint: Annotated[str, StringConstraints(min_length=9, max_length=2048,
                                                   pattern=r"^https://[\x21-\x7e]+$")]
    subscription: PushSubscriptionIn


class PushOpenRequest(_Body):
    message_id: Annotated[str, StringConstraints(min_length=1, max_length=32,
                                                 pattern=r"^[A-Za-z0-9]+$")]
    time: BrazeTime | None = None


class SdkSuccess(BaseModel):
    message: str


