"""Messaging models, one module per subject; import them from `messaging.models`."""

from .apps import App
from .dispatch import (
    ContentCard,
    Delivery,
    Dispatch,
    DispatchShard,
    IdempotencyRecord,
    SendIdentifier,
)
from .exports import UserExport
from .groups import SubscriptionGroup
from .keys import ApiKey, Permission
from .profiles import (
    DeprecatedExternalId,
    EmailSubscriptionState,
    EmailSuppression,
    Profile,
    PushToken,
    SubscriptionState,
    UserAlias,
)
from .providers import ChannelConfig, Provider  # noqa: F401  (issue 6)
from .schedules import ScheduledMessage
from .sdk import SdkKey

__all__ = [
    "ApiKey",
    "App",
    "ContentCard",
    "Delivery",
    "Dispatch",
    "DeprecatedExternalId",
    "DispatchShard",
    "EmailSubscriptionState",
    "EmailSuppression",
    "IdempotencyRecord",
    "Permission",
    "Profile",
    "SdkKey",
    "PushToken",
    "ScheduledMessage",
    "SendIdentifier",
    "SubscriptionGroup",
    "SubscriptionState",
    "UserAlias",
    "UserExport",
]
