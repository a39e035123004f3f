"""Content cards: "delivering" one is storing it in the profile's feed.

NOTE: unlike the other adapters this one writes to the database, because the feed *is*
the destination. It finds the profile through the delivery row (by message_id), and
the card is one-to-one with that row, so a retried batch never adds a second card.
"""

from __future__ import annotations

from .base import Outcome, Outgoing, Result


class ContentCardAdapter:
    name = "feed"

    def send_batch(self, items: list[Outgoing]) -> list[Outcome]:
        from ..services.content_cards import content_card_create

        outcomes = []
        for item in items:
            card = content_card_create(message_id=item.message_id, payload=item.payload)
            if card is None:
                outcomes.append(Outcome(Result.FAILED, "profile no longer exists"))
            else:
                outcomes.append(Outcome(Result.DELIVERED, f"card {card.card_id} in feed"))
        return outcomes
