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
from .keys import ApiKey, Permission
from .profiles import EmailSubscriptionState, Profile, PushToken, SubscriptionState, UserAlias
from .providers import ChannelConfig, Provider  # noqa: F401  (issue 6)
from .schedules import ScheduledMessage

__all__ = [
    "ApiKey",
    "App",
    "ContentCard",
    "Delivery",
    "Dispatch",
    "DispatchShard",
    "EmailSubscriptionState",
    "IdempotencyRecord",
    "Permission",
    "Profile",
    "PushToken",
    "ScheduledMessage",
    "SendIdentifier",
    "SubscriptionState",
    "UserAlias",
]
