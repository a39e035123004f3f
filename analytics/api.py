"""REST endpoints of analytics (registered with config.api.endpoint)."""
