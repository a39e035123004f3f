"""REST endpoints: engagement."""
