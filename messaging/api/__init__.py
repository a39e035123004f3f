"""REST endpoints of messaging, one module per subject (registered with config.api.endpoint)."""

from . import content_cards, email, engagement, kpi, sends, subscriptions, users  # noqa: F401
