"""REST endpoints of campaigns (registered with config.api.endpoint)."""
