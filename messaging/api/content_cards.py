"""REST endpoints: content_cards."""
