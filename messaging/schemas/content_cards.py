"""Request and response models of the content card feed endpoints (GET /content_cards/…)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_CARDS = 100


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    external_id: str = Field(min_length=1, max_length=255)


class Card(BaseModel):
    id: str
    type: str
    title: str
    description: str
    image_url: str | None = None
    url: str | None = None
    uri_text: str | None = None
    pinned: bool
    extra: dict
    campaign_id: str | None = None
    message_variation_id: str | None = None
    created_at: str
    expires_at: str | None = None
    viewed: bool
    clicked: bool


class FeedResponse(BaseModel):
    message: str = "success"
    external_id: str
    cards: list[Card]
