"""REST endpoints of messaging (registered with config.api.endpoint)."""
