"""Content cards: "delivering" one is storing it in the profile's feed.

The feed *is* the destination, so there is no provider to call: this stand-in for an
adapter writes the cards through messaging.services.content_cards. It finds the profile
through the delivery row (by message_id), and the card is one-to-one with that row, so a
retried batch never adds a second card.
"""

from __future__ import annotations

from ..channels.base import Outcome, Outgoing, Result
from ..services.content_cards import content_card_create


class FeedWriter:
    name = "feed"

    def send_batch(
        self, items: list[Outgoing], deadline: float | None = None
    ) -> list[Outcome]:
        outcomes = []
        for item in items:
            card = content_card_create(message_id=item.message_id, payload=item.payload)
            if card is None:
                outcomes.append(Outcome(Result.FAILED, "profile no longer exists"))
            else:
                outcomes.append(Outcome(Result.DELIVERED, f"card {card.card_id} in feed"))
        return outcomes
