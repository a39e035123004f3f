"""Tracking links in messages: open pixel, click redirects, unsubscribe. (Built by the results issue.)"""

urlpatterns: list = []


def instrument_email(html: str, *, message_id: str) -> str:
    """Return the email HTML with tracked links and an open pixel for this delivery."""
    return html


def unsubscribe_headers(*, message_id: str) -> dict[str, str]:
    """Headers (List-Unsubscribe…) for this delivery's email."""
    return {}
