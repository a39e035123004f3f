"""REST endpoints: sends."""
