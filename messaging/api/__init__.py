"""REST endpoints of messaging, one module per subject (registered with config.api.endpoint)."""

from . import content_cards, engagement, sends, users  # noqa: F401
