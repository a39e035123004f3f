"""REST endpoints of messaging, one module per subject (registered with config.api.endpoint)."""

from . import (  # noqa: F401
    content_cards,
    email,
    engagement,
    schedules,
    sends,
    subscriptions,
    triggers,
    users,
)
