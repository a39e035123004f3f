"""REST endpoints: users."""
