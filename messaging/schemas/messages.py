"""Models of POST /messages/send and POST /sends/id/create (spec §3.1, §3.2, §4).

The same models validate requests and generate the OpenAPI document. Field names are
Braze's; `from` and `content-available` are aliases because they are not Python names.
Booleans written as strings (`"false"`), which Braze's own examples use, are accepted
(pydantic's lax mode), as are the spellings `ios_push` and `content_cards` (spec §7.11).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, model_validator

from config.api.times import ApiTime

Text = str
APPLE_PUSH_MAX_BYTES = 1912
ANDROID_PUSH_MAX_BYTES = 4000
MAX_EXPLICIT_RECIPIENTS = 50
CONTENT_CARD_MAX_LIFETIME_SECONDS = 30 * 24 * 3600


class _Strict(BaseModel):
    # Unknown fields are refused, so a typo ("subjet") is a 400 naming it, not a silent drop.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Message(_Strict):
    message_variation_id: str | None = None
    # Recorded on each delivery; checked against registered apps for push channels.
    app_id: str | None = None


# --- Push ------------------------------------------------------------------------------------


class AppleAlert(_Strict):
    body: Text | None = None
    title: Text | None = None
    title_loc_key: str | None = None
    title_loc_args: list[str] | None = None
    action_loc_key: str | None = None
    loc_key: str | None = None
    loc_args: list[str] | None = None
    sound: str | None = None


class AppleButton(_Strict):
    action_id: str
    action: Literal["OPEN_APP", "URI", "DEEP_LINK", "CLOSE"] | None = None
    uri: str | None = None
    use_webview: bool | None = None


BRAZE_CATEGORIES = {
    "ab_cat_accept_decline",
    "ab_cat_yes_no",
    "ab_cat_confirm_cancel",
    "ab_cat_more",
}


class ApplePush(_Message):
    alert: Text | AppleAlert | None = None
    badge: int | None = None
    sound: str | None = None
    extra: dict[str, Any] | None = None
    content_available: bool | None = Field(default=None, alias="content-available")
    interruption_level: Literal["passive", "active", "time-sensitive", "critical"] | None = None
    relevance_score: float | None = Field(default=None, ge=0.0, le=1.0)
    expiry: ApiTime | None = None
    custom_uri: str | None = None
    use_webview: bool | None = None
    notification_group_thread_id: str | None = None
    asset_url: str | None = None
    asset_file_type: Literal["aif", "gif", "jpg", "m4a", "mp3", "mp4", "png", "wav"] | None = None
    collapse_id: str | None = None
    mutable_content: bool | None = None
    send_to_most_recent_device_only: bool | None = None
    category: str | None = None
    buttons: list[AppleButton] | None = None
    apns_priority: int | None = Field(default=None, ge=1, le=10)

    @model_validator(mode="after")
    def _rules(self) -> ApplePush:
        if not self.content_available:
            body = self.alert.body if isinstance(self.alert, AppleAlert) else self.alert
            if body is None:
                raise ValueError(
                    "alert (or alert.body) is required unless content-available is true"
                )
        if self.asset_url and not self.asset_file_type:
            raise ValueError("asset_file_type is required with asset_url")
        if self.extra and {"ab", "aps"} & set(self.extra):
            raise ValueError("extra may not use the reserved keys 'ab' and 'aps'")
        if self.buttons and self.category and self.category not in BRAZE_CATEGORIES:
            for button in self.buttons:
                if button.action not in ("URI", "DEEP_LINK") or not button.uri:
                    raise ValueError(
                        "buttons of an app-defined category need action URI or DEEP_LINK and a uri"
                    )
        return self


class AndroidButton(_Strict):
    text: Text
    action: Literal["OPEN_APP", "URI", "DEEP_LINK", "CLOSE"] | None = None
    uri: str | None = None
    use_webview: bool | None = None


class ConversationMessage(_Strict):
    text: Text
    timestamp: int
    person_id: str


class ConversationPerson(_Strict):
    id: str
    name: Text


class ConversationData(_Strict):
    shortcut_id: str
    reply_person_id: str
    messages: list[ConversationMessage]
    persons: list[ConversationPerson]


class AndroidPush(_Message):
    alert: Text | None = None
    title: Text | None = None
    extra: dict[str, Any] | None = None
    notification_channel_id: str | None = None
    # Out of range is clamped to 0 as Braze does, not refused.
    priority: int | None = None
    android_priority: Literal["normal", "high"] | None = None
    send_to_sync: bool | None = None
    collapse_key: str | None = None
    sound: str | None = None
    custom_uri: str | None = None
    use_webview: bool | None = None
    summary_text: Text | None = None
    time_to_live: int | None = Field(default=None, ge=0, le=2_419_200)
    notification_id: int | None = None
    push_icon_image_url: str | None = None
    accent_color: int | None = None
    send_to_most_recent_device_only: bool | None = None
    buttons: list[AndroidButton] | None = None
    conversation_data: ConversationData | None = None

    @model_validator(mode="after")
    def _rules(self) -> AndroidPush:
        if self.priority is not None and not -2 <= self.priority <= 2:
            self.priority = 0
        if self.send_to_sync:
            if self.alert is not None or self.title is not None:
                raise ValueError("send_to_sync cannot be combined with alert or title")
        elif self.alert is None or self.title is None:
            raise ValueError("alert and title are required")
        return self


class KindlePush(_Message):
    alert: Text
    title: Text
    extra: dict[str, Any] | None = None
    priority: int | None = None
    collapse_key: str | None = None
    sound: str | None = None
    custom_uri: str | None = None

    @model_validator(mode="after")
    def _clamp(self) -> KindlePush:
        if self.priority is not None and not -2 <= self.priority <= 2:
            self.priority = 0
        return self


class WebButton(_Strict):
    text: Text
    action: Literal["OPEN_APP", "URI", "CLOSE"] | None = None
    uri: str | None = None


class WebPush(_Message):
    alert: Text
    title: Text
    extra: dict[str, Any] | None = None
    custom_uri: str | None = None
    image_url: str | None = None
    large_image_url: str | None = None
    require_interaction: bool | None = None
    time_to_live: int | None = Field(default=None, ge=0)
    send_to_most_recent_device_only: bool | None = None
    buttons: list[WebButton] | None = None


# --- Email, SMS, webhook, content card ---------------------------------------------------------


class Attachment(_Strict):
    file_name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    basic_auth_credential: str | None = None


class Email(_Message):
    app_id: str
    from_: Text = Field(alias="from", min_length=1)
    subject: Text | None = None
    reply_to: Text | None = None
    bcc: str | None = None
    body: Text | None = None
    plaintext_body: Text | None = None
    amp_body: Text | None = None
    preheader: Text | None = None
    email_template_id: str | None = Field(
        default=None, min_length=1,
        description="an email template's ID (/templates/email/create): its subject, body, "
        "plaintext_body, preheader and should_inline_css fill the fields this object omits",
    )
    extras: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    should_inline_css: bool | None = None
    attachments: list[Attachment] | None = None

    @model_validator(mode="after")
    def _rules(self) -> Email:
        # The template's subject, bodies and preheader fill what this object leaves out
        # (services.dispatch), so only one of the two must give a body.
        if self.body is None and not self.email_template_id:
            raise ValueError("body is required unless email_template_id is given")
        if self.bcc:
            raise ValueError("bcc addresses are not configured in this workspace")
        if self.attachments:
            raise ValueError("attachments are not supported by Herald yet")
        for name in self.headers or {}:
            if not name or any(c in name for c in ":\r\n ") or name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"headers: {name!r} cannot be set")
        return self


# Headers the email itself owns; a custom header may not replace them.
_RESERVED_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "reply-to",
    "message-id",
    "date",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}


class Sms(_Message):
    app_id: str
    subscription_group_id: str = Field(min_length=1)
    body: Text = Field(min_length=1)
    media_items: list[str] | None = None
    link_shortening_enabled: bool | None = None
    user_click_tracking_enabled: bool | None = None


class Webhook(_Message):
    url: Text = Field(min_length=1)
    request_method: Literal["POST", "PUT", "DELETE", "GET"]
    request_headers: dict[str, str] | None = None
    body: Text | None = None

    @model_validator(mode="after")
    def _rules(self) -> Webhook:
        # The URL may hold Liquid, so only its scheme can be checked before rendering.
        if not self.url.lower().startswith(("http://", "https://", "{{", "{%")):
            raise ValueError("url must be an http:// or https:// URL")
        for name in self.request_headers or {}:
            if not name or any(c in name for c in ":\r\n "):
                raise ValueError(f"request_headers: {name!r} is not a header name")
        return self


class ContentCard(_Message):
    type: Literal["CLASSIC", "CAPTIONED_IMAGE", "BANNER"]
    title: Text
    description: Text
    pinned: bool | None = None
    image_url: str | None = None
    time_to_live: int | None = Field(default=None, gt=0, le=CONTENT_CARD_MAX_LIFETIME_SECONDS)
    expire_at: ApiTime | None = None
    expire_in_local_time: bool | None = None
    ios_uri: str | None = None
    android_uri: str | None = None
    web_uri: str | None = None
    ios_use_webview: bool | None = None
    android_use_webview: bool | None = None
    uri_text: Text | None = None
    extra: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _rules(self) -> ContentCard:
        if self.type in ("CAPTIONED_IMAGE", "BANNER") and not self.image_url:
            raise ValueError(f"image_url is required for {self.type} cards")
        if (self.time_to_live is None) == (self.expire_at is None):
            raise ValueError("give exactly one of time_to_live and expire_at")
        if self.expire_at is not None:
            if self.expire_at.tzinfo is None:
                raise ValueError(
                    "expire_at needs a time zone (ISO 8601, e.g. 2030-01-01T00:00:00Z)"
                )
            seconds = (self.expire_at - timezone.now()).total_seconds()
            if seconds <= 0:
                raise ValueError("expire_at is in the past")
            if seconds > CONTENT_CARD_MAX_LIFETIME_SECONDS:
                raise ValueError("expire_at is more than 30 days ahead")
        return self


CHANNEL_MODELS: dict[str, type[_Message]] = {
    "apple_push": ApplePush,
    "android_push": AndroidPush,
    "kindle_push": KindlePush,
    "web_push": WebPush,
    "email": Email,
    "sms": Sms,
    "webhook": Webhook,
    "content_card": ContentCard,
}
# Other spellings found in Braze's docs and clients (spec §7.11), accepted on input.
CHANNEL_SPELLINGS = {"ios_push": "apple_push", "content_cards": "content_card"}
UNSUPPORTED_CHANNELS = {"whats_app", "windows_phone8_push", "windows_universal_push"}


class Messages(_Strict):
    apple_push: ApplePush | None = None
    android_push: AndroidPush | None = None
    kindle_push: KindlePush | None = None
    web_push: WebPush | None = None
    email: Email | None = None
    sms: Sms | None = None
    webhook: Webhook | None = None
    content_card: ContentCard | None = None

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for other, name in CHANNEL_SPELLINGS.items():
            if other in data:
                if name in data:
                    raise ValueError(f"give either {name} or {other}, not both")
                data[name] = data.pop(other)
        for name in UNSUPPORTED_CHANNELS & set(data):
            raise ValueError(f"{name} messages are not supported by Herald")
        return data

    def present(self) -> dict[str, _Message]:
        return {name: getattr(self, name) for name in CHANNEL_MODELS if getattr(self, name)}


# --- Bodies -----------------------------------------------------------------------------------


class UserAliasRef(_Strict):
    alias_name: str = Field(min_length=1)
    alias_label: str = Field(min_length=1)


# --- Connected Audience (spec §3.1) -------------------------------------------------------------
# These models document the filter tree in the OpenAPI reference. The request is checked by
# messaging.audience.audience_normalize instead (SkipValidation below): pydantic's errors for
# a recursive union list every member that failed, while that checker names the one path
# (`audience.OR[1].custom_attribute.comparison: unknown comparison 'eq'`).

AttributeComparison = Literal[
    "equals",
    "not_equal",
    "does_not_equal",
    "matches_regex",
    "does_not_match_regex",
    "includes_value",
    "does_not_include_value",
    "greater_than",
    "greater_than_or_equal_to",
    "less_than",
    "less_than_or_equal_to",
    "less_than_x_days_ago",
    "greater_than_x_days_ago",
    "less_than_x_days_in_the_future",
    "greater_than_x_days_in_the_future",
    "after",
    "before",
    "exists",
    "does_not_exist",
]


class CustomAttributeCondition(_Strict):
    custom_attribute_name: str = Field(min_length=1)
    comparison: AttributeComparison
    # Omitted for exists/does_not_exist; a number of days for the *_x_days_* comparisons;
    # ISO 8601 for after/before; a regular expression for *_regex.
    value: str | float | bool | None = None


class SubscriptionCondition(_Strict):
    comparison: Literal["is", "is_not"]
    value: Literal["opted_in", "subscribed", "unsubscribed"]


class CustomAttributeFilter(_Strict):
    custom_attribute: CustomAttributeCondition


class PushSubscriptionFilter(_Strict):
    push_subscription_status: SubscriptionCondition


class EmailSubscriptionFilter(_Strict):
    email_subscription_status: SubscriptionCondition


class AudienceAnd(_Strict):
    AND: list[AudienceFilter] = Field(min_length=1)


class AudienceOr(_Strict):
    OR: list[AudienceFilter] = Field(min_length=1)


AudienceFilter = Union[  # noqa: UP007 (a forward-referenced recursive union)
    CustomAttributeFilter,
    PushSubscriptionFilter,
    EmailSubscriptionFilter,
    AudienceAnd,
    AudienceOr,
]
AudienceAnd.model_rebuild()
AudienceOr.model_rebuild()


class SendBody(_Strict):
    """Body of POST /messages/send."""

    broadcast: bool = False
    external_user_ids: list[str] | None = None
    user_aliases: list[UserAliasRef] | None = None
    segment_id: str | None = None
    # Checked (with paths in errors) by messaging.audience.audience_normalize; `last_used_app`
    # is refused because Herald does not record app usage.
    audience: Annotated[AudienceFilter | None, SkipValidation] = Field(
        default=None,
        description="Connected Audience: one filter, or AND/OR lists of filters and lists "
        "(nested at most 10 deep, at most 100 filters).",
    )
    campaign_id: str | None = None
    send_id: str | None = None
    override_frequency_capping: bool = False
    recipient_subscription_state: Literal["opted_in", "subscribed", "all"] = "subscribed"
    messages: Messages | None = None
    # Legacy authentication in the body (spec §2.2), read by the key guard.
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class SendResponse(BaseModel):
    message: str = "success"
    dispatch_id: str
    send_id: str | None = None
    errors: list[str] | None = None


def send_id_problem(value: str) -> str | None:
    """Why a custom send_id is refused (spec §1.4), or None."""
    if not value:
        return "must not be empty"
    if len(value) > 64:
        return "must be at most 64 characters"
    if not value.isascii() or not value.isprintable():
        return "must be printable ASCII"
    return None


class SendIdCreateBody(_Strict):
    """Body of POST /sends/id/create."""

    campaign_id: str = Field(min_length=1)
    send_id: str | None = None
    api_key: str | None = Field(default=None, json_schema_extra={"deprecated": True})


class SendIdCreateResponse(BaseModel):
    message: str = "success"
    send_id: str
