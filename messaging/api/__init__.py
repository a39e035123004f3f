"""REST endpoints of messaging, one module per subject (registered with config.api.endpoint)."""

from ..sdk import api as sdk_api  # noqa: F401  (the web SDK's endpoints, /sdk/v1/…)
from . import (  # noqa: F401
    content_cards,
    email,
    engagement,
    kpi,
    schedules,
    sends,
    subscriptions,
    templates,
    triggers,
    users,
)
